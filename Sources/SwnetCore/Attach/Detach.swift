import Netlink

/// What `swnet detach TARGET [NETWORK] [-i IFNAME]` asks for.
public struct DetachRequest: Sendable {
    public var target: String
    public var network: String?
    public var containerInterface: String?

    public init(target: String, network: String? = nil, containerInterface: String? = nil) {
        self.target = target
        self.network = network
        self.containerInterface = containerInterface
    }
}

extension Swnet {
    /// Removes the target's veth pairs (from NETWORK, or from every network) and releases
    /// their addresses. Returns what was detached.
    @discardableResult
    public func detach(_ request: DetachRequest) throws -> [Attachment] {
        if let name = request.containerInterface { try InterfaceNames.validate(name, role: "container interface") }
        try requireNetworkPrivileges(for: "detach")
        let target = try resolveTarget(request.target)

        return try store.write { state in
            let networkName: String?
            if let name = request.network {
                guard let network = try state.network(namedOrBridge: name) else { throw SwnetError.noSuchNetwork(name) }
                networkName = network.name
            } else {
                networkName = nil
            }
            let found = try state.attachments(namespaceID: target.namespaceID)
                .filter { networkName == nil || $0.network == networkName }
                .filter { request.containerInterface == nil || $0.containerInterface == request.containerInterface }
            guard !found.isEmpty else {
                let scope = request.network.map { "network \($0)" } ?? "any network"
                let interface = request.containerInterface.map { " with interface \($0)" } ?? ""
                throw SwnetError.notAttached(target: target.label, scope: scope + interface)
            }
            for attachment in found { try removePublications(namespaceID: attachment.namespaceID, network: attachment.network, in: state) }
            try deleteLinks(named: found.map(\.hostInterface))
            for attachment in found { try release(attachment, in: state) }
            return found
        }
    }
}
