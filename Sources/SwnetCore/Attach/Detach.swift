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

/// What a detach removed: veths on swnet networks, and pipework-style interfaces.
public struct DetachResult: Sendable {
    public var attachments: [Attachment]
    public var interfaces: [LinkAttachment]
}

extension Swnet {
    /// Removes the target's veth pairs (from NETWORK, or from every network) and releases
    /// their addresses. Returns what was detached.
    @discardableResult
    public func detach(_ request: DetachRequest) throws -> [Attachment] {
        try detachAll(request).attachments
    }

    /// `detach`, and also the target's interface attachments (DHCP veths, macvlans, moved
    /// interfaces) on NETWORK (their bridge or host interface) or anywhere.
    @discardableResult
    public func detachAll(_ request: DetachRequest) throws -> DetachResult {
        if let name = request.containerInterface { try InterfaceNames.validate(name, role: "container interface") }
        try requireNetworkPrivileges(for: "detach")
        let target = try resolveTarget(request.target)

        return try store.write { state in
            let network = try request.network.flatMap { try state.network(namedOrBridge: $0) }
            let found = try state.attachments(namespaceID: target.namespaceID)
                .filter { request.network == nil || $0.network == network?.name }
                .filter { request.containerInterface == nil || $0.containerInterface == request.containerInterface }
            let interfaces = try state.linkAttachments(namespaceID: target.namespaceID).filter {
                (request.network == nil || $0.parent == request.network || $0.network == request.network)
                    && (request.containerInterface == nil || $0.containerInterface == request.containerInterface)
            }
            guard !found.isEmpty || !interfaces.isEmpty else {
                if let name = request.network, network == nil { throw SwnetError.notAttached(target: target.label, scope: name) }
                let scope = request.network.map { "network \($0)" } ?? "any network"
                let interface = request.containerInterface.map { " with interface \($0)" } ?? ""
                throw SwnetError.notAttached(target: target.label, scope: scope + interface)
            }
            for attachment in found { try removePublications(namespaceID: attachment.namespaceID, network: attachment.network, in: state) }
            try deleteLinks(named: found.map(\.hostInterface))
            for attachment in found { try release(attachment, in: state) }
            let container = interfaces.isEmpty ? nil : try NetlinkHandle(namespace: target.namespace)
            for interface in interfaces { try undo(interface, container: container, in: state) }
            return DetachResult(attachments: found, interfaces: interfaces)
        }
    }
}
