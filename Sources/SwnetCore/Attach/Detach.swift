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

        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        let networks: [String]
        if let name = request.network {
            let network = try store.network(named: name) ?? store.networks().first { $0.bridge == name }
            networks = network.map { [$0.name] } ?? []
        } else {
            networks = try store.networkNames()
        }
        let found = try networks.compactMap { try store.attachment(network: $0, namespaceID: target.namespaceID) }
            .filter { request.containerInterface == nil || $0.containerInterface == request.containerInterface }
        let interfaces = try store.linkAttachments().filter {
            $0.namespaceID == target.namespaceID
                && (request.network == nil || $0.parent == request.network || $0.network == request.network)
                && (request.containerInterface == nil || $0.containerInterface == request.containerInterface)
        }
        guard !found.isEmpty || !interfaces.isEmpty else {
            if let name = request.network, networks.isEmpty { throw SwnetError("\(target.label) is not attached to \(name)") }
            let scope = request.network.map { "network \($0)" } ?? "any network"
            let interface = request.containerInterface.map { " with interface \($0)" } ?? ""
            throw SwnetError("\(target.label) is not attached to \(scope)\(interface)")
        }
        for attachment in found { try removePublicationsLocked(namespaceID: attachment.namespaceID, network: attachment.network) }
        try deleteLinks(named: found.map(\.hostInterface))
        for attachment in found { try release(attachment) }
        let container = interfaces.isEmpty ? nil : try NetlinkHandle(namespace: target.namespace)
        for interface in interfaces { try undo(interface, container: container) }
        return DetachResult(attachments: found, interfaces: interfaces)
    }
}
