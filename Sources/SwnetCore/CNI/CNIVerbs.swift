#if canImport(Glibc)
import Glibc
#endif
import IPAM
import Netlink

/// The swnet network a CNI configuration names, with what the configuration says about it.
public struct CNINetworkSpec: Sendable {
    public var name: String
    public var bridge: String?
    /// At most one per family (host-local's range sets: one IPv4, one IPv6 for dual stack).
    public var subnets: [IPNetwork]
    public var gateways: [IPAddress]
    public var masquerade: Bool?
    public var mtu: UInt32?

    public init(name: String, bridge: String? = nil, subnets: [IPNetwork] = [], gateways: [IPAddress] = [],
                masquerade: Bool? = nil, mtu: UInt32? = nil) {
        self.name = name
        self.bridge = bridge
        self.subnets = subnets
        self.gateways = gateways
        self.masquerade = masquerade
        self.mtu = mtu
    }
}

/// What a CNI ADD asks for beyond the network: the capabilities `ips`, `mac` and `portMappings`.
public struct CNIAddRequest: Sendable {
    public var container: CNIContainer
    public var netns: String
    /// At most one per family; a family of the network left out gets an allocated address.
    public var addresses: [InterfaceAddress]
    public var mac: MACAddress?
    public var mtu: UInt32?
    public var ports: [PortSpec]
    /// The capability `bandwidth`: traffic to the container is shaped on the host side of the
    /// pair, traffic from it on its own interface.
    public var ingress: TokenBucket?
    public var egress: TokenBucket?
    /// `hairpinMode`: the bridge port may send frames back where they came from.
    public var hairpin: Bool

    public init(container: CNIContainer, netns: String, addresses: [InterfaceAddress] = [], mac: MACAddress? = nil,
                mtu: UInt32? = nil, ports: [PortSpec] = [], ingress: TokenBucket? = nil, egress: TokenBucket? = nil,
                hairpin: Bool = false) {
        self.container = container
        self.netns = netns
        self.addresses = addresses
        self.mac = mac
        self.mtu = mtu
        self.ports = ports
        self.ingress = ingress
        self.egress = egress
        self.hairpin = hairpin
    }
}

/// What an ADD made, with the host-side links a CNI result lists.
public struct CNIAddResult: Sendable {
    public var attachment: Attachment
    public var bridge: Link?
    public var hostLink: Link?
    /// One gateway per family the container got a default route through.
    public var defaultRoutes: [IPAddress]
    public var publications: [Publication]
}

/// The interface another plugin made earlier in a chain (from its `prevResult`).
public struct CNIChainedInterface: Sendable {
    public var bridge: String
    public var hostInterface: String
    /// One per family, with the gateways the previous plugin gave.
    public var addresses: [InterfaceAddress]
    public var gateways: [IPAddress]

    public init(bridge: String, hostInterface: String, addresses: [InterfaceAddress], gateways: [IPAddress]) {
        self.bridge = bridge
        self.hostInterface = hostInterface
        self.addresses = addresses
        self.gateways = gateways
    }
}

/// The CNI verbs on top of swnet's own: an attachment made through CNI is an ordinary swnet
/// attachment (it shows in `network inspect`, `port`, `gc`) that also records the runtime's
/// container id.
extension Swnet {
    /// The network a configuration names: an existing swnet network (a configuration that
    /// contradicts it is an error), else one created from the configuration (`created`: the
    /// caller removes it again if its ADD fails).
    public func cniNetwork(_ spec: CNINetworkSpec) throws -> (network: NetworkDefinition, created: Bool) {
        if let existing = try existingNetwork(spec.name) { return (try checked(existing, against: spec), false) }
        guard !spec.subnets.isEmpty else {
            throw SwnetError("network \(spec.name) does not exist and the configuration gives no subnet")
        }
        do {
            return (try createNetwork(NetworkRequest(name: spec.name, subnets: spec.subnets, gateways: spec.gateways, bridge: spec.bridge,
                                                     mtu: spec.mtu, masquerade: spec.masquerade ?? true)), true)
        } catch {
            // Another ADD created it meanwhile.
            if let existing = try existingNetwork(spec.name) { return (try checked(existing, against: spec), false) }
            throw error
        }
    }

    private func existingNetwork(_ name: String) throws -> NetworkDefinition? {
        try store.read { state in try state.network(named: name) }
    }

    private func checked(_ network: NetworkDefinition, against spec: CNINetworkSpec) throws -> NetworkDefinition {
        if !spec.subnets.isEmpty, Set(spec.subnets) != Set(network.subnets) {
            throw SwnetError("network \(network.name) has subnets \(list(network.subnets)), the configuration says \(list(spec.subnets))")
        }
        if let bridge = spec.bridge, bridge != network.bridge {
            throw SwnetError("network \(network.name) has bridge \(network.bridge), the configuration says \(bridge)")
        }
        for gateway in spec.gateways where gateway != network.gateway(gateway.family) {
            throw SwnetError("network \(network.name) has \(gateway.family) gateway \(network.gateway(gateway.family)?.description ?? "none"), the configuration says \(gateway)")
        }
        return network
    }

    private func list(_ items: [some CustomStringConvertible]) -> String { items.map(\.description).joined(separator: ", ") }

    /// ADD: an attach keyed by the container id, then its ports; a failure undoes both.
    public func cniAdd(_ request: CNIAddRequest, network: NetworkDefinition) throws -> CNIAddResult {
        try checkPortsAreFree(request.ports, families: network.families)
        var attach = AttachRequest(target: request.netns, network: network.name,
                                   mac: request.mac.map { .fixed($0) }, containerInterface: request.container.interface,
                                   mtu: request.mtu)
        attach.addresses = request.addresses
        attach.targetLabel = "cni \(request.container.containerID)"
        attach.cni = CNIMembership(containerID: request.container.containerID)
        let attached = try self.attach(attach)
        let netlink = try hostNetlink()
        var publications: [Publication] = []
        do {
            let target = try resolver.resolve(request.netns, label: attached.attachment.target)
            if request.ingress != nil || request.hairpin, let host = try netlink.link(named: attached.attachment.hostInterface) {
                if let ingress = request.ingress { try shape(host, in: netlink, ingress, what: "traffic to the container") }
                if request.hairpin {
                    do { try netlink.setBridgePortHairpin(interfaceIndex: host.index, true) } catch {
                        throw SwnetError.during("hairpin mode on \(host.name)", error)
                    }
                }
            }
            if let egress = request.egress {
                let inside = try NetlinkHandle(namespace: target.namespace)
                if let link = try inside.link(named: attached.attachment.containerInterface) {
                    try shape(link, in: inside, egress, what: "traffic from the container")
                }
            }
            if !request.ports.isEmpty { publications = try publish(target, specs: request.ports, network: network.name) }
        } catch {
            _ = try? cniDelete(request.container, network: network.name, netns: request.netns)
            throw error
        }
        return CNIAddResult(attachment: attached.attachment, bridge: try netlink.link(named: network.bridge),
                            hostLink: try netlink.link(named: attached.attachment.hostInterface),
                            defaultRoutes: attached.defaultRoutes, publications: publications)
    }

    private func shape(_ link: Link, in netlink: NetlinkHandle, _ bucket: TokenBucket, what: String) throws {
        do { try netlink.setTokenBucket(interfaceIndex: link.index, bucket) } catch {
            throw SwnetError.during("limit \(what) on \(link.name) (tbf)", error)
        }
    }

    /// A port somebody holds fails the ADD before anything changes (publish checks again
    /// under the lock).
    private func checkPortsAreFree(_ specs: [PortSpec], families: [IPFamily]) throws {
        guard !specs.isEmpty else { return }
        try store.read { state in try checkPortsFree(specs, families: families, in: state) }
    }

    /// ADD after another plugin made the interface (chained with a prevResult): records the
    /// container on a network that adopts that plugin's bridge, and publishes its ports.
    @discardableResult
    public func cniPublish(_ container: CNIContainer, netns: String, network name: String,
                           interface: CNIChainedInterface, ports: [PortSpec]) throws -> [Publication] {
        try requireNetworkPrivileges(for: "CNI ADD")
        let target = try resolver.resolve(netns, label: "cni \(container.containerID)")
        try store.write { state in
            var network = try state.network(named: name)
            if network == nil {
                let adopted = NetworkDefinition(name: name, subnets: interface.addresses.map(\.network), gateways: interface.gateways,
                                                bridge: interface.bridge, mtu: nil, managesBridge: false,
                                                created: Int64(time(nil)), masquerade: false)
                try NetworkRules.checkSubnetsAreFree(adopted.subnets, among: state.networks())
                try state.save(adopted)
                try renderFirewall(in: state)
                network = adopted
            }
            if let network, network.bridge != interface.bridge {
                throw SwnetError("network \(name) has bridge \(network.bridge), but the previous plugin attached to \(interface.bridge)")
            }
            if let existing = try state.attachment(network: name, namespaceID: target.namespaceID) {
                throw SwnetError("\(target.label) is already recorded on network \(name) (cni \(existing.cni?.containerID ?? "-"))")
            }
            let attachment = Attachment(
                network: name, namespaceID: target.namespaceID, target: target.label, namespacePath: target.path,
                hostInterface: interface.hostInterface, containerInterface: container.interface, mac: nil,
                addresses: interface.addresses, gateways: interface.gateways, mtu: 0, phase: .active,
                created: Int64(time(nil)), cni: CNIMembership(containerID: container.containerID, chained: true))
            try state.save(attachment)
        }
        guard !ports.isEmpty else { return [] }
        do {
            return try publish(target, specs: ports, network: name)
        } catch {
            _ = try? cniDelete(container, network: name, netns: netns)
            throw error
        }
    }

    /// DEL: removes the container's ports (only its own: containers that share an address keep
    /// theirs), its veth pair unless another plugin made it, its lease and record. Nothing to
    /// remove is success, so DEL can be repeated, and works with an empty or missing netns.
    @discardableResult
    public func cniDelete(_ container: CNIContainer, network: String, netns: String?) throws -> Attachment? {
        try requireNetworkPrivileges(for: "CNI DEL")
        return try store.write { state in
            guard let attachment = try cniAttachment(container, network: network, netns: netns, in: state) else { return nil }
            try removePublications(namespaceID: attachment.namespaceID, network: attachment.network, in: state)
            if attachment.cni?.chained != true { try deleteLinks(named: [attachment.hostInterface]) }
            try release(attachment, in: state)
            return attachment
        }
    }

    /// CHECK: the attachment is whole: record active, host side on the bridge, the container
    /// interface in the namespace with its MAC and address.
    public func cniCheck(_ container: CNIContainer, network name: String, netns: String) throws {
        let (network, attachment) = try store.read { state in
            (try state.network(named: name), try cniAttachment(container, network: name, netns: netns, in: state))
        }
        guard let network else { throw CNIUnknownContainer("no network named \(name)") }
        guard let attachment else {
            throw CNIUnknownContainer("container \(container.containerID) has no interface \(container.interface) on network \(name)")
        }
        guard attachment.phase == .active else { throw SwnetError("the attachment of \(container.containerID) is incomplete") }
        let netlink = try hostNetlink()
        guard let host = try netlink.link(named: attachment.hostInterface) else {
            throw SwnetError("host interface \(attachment.hostInterface) is gone")
        }
        if let bridge = try netlink.link(named: network.bridge) {
            guard host.masterIndex == bridge.index else { throw SwnetError("\(host.name) is not a port of bridge \(network.bridge)") }
        } else {
            throw SwnetError("bridge \(network.bridge) is gone")
        }
        let target = try resolver.resolve(netns)
        guard target.namespaceID == attachment.namespaceID else { throw SwnetError("\(netns) is not the namespace that was attached") }
        let inside = try NetlinkHandle(namespace: target.namespace)
        guard let link = try inside.link(named: attachment.containerInterface) else {
            throw SwnetError("interface \(attachment.containerInterface) is gone from \(netns)")
        }
        if let mac = attachment.mac, link.mac != mac {
            throw SwnetError("interface \(link.name) has MAC \(link.mac?.description ?? "none"), expected \(mac)")
        }
        guard try inside.addresses(interfaceIndex: link.index).contains(where: { $0.address == attachment.address }) else {
            throw SwnetError("interface \(link.name) lacks its address \(attachment.address)")
        }
    }

    /// GC: drops the CNI attachments of `network` that the runtime no longer lists as valid,
    /// then what crashed or dead containers left anywhere: `swnet gc`'s sweep of attachments,
    /// leases and publications (swnet's own container records are `swnet gc`'s, see ContainerRegistry).
    @discardableResult
    public func cniCollect(network: String, valid: Set<CNIContainer>) throws -> [Attachment] {
        try requireNetworkPrivileges(for: "CNI GC")
        let stale = try store.write { state in
            let stale = try state.cniAttachments(network: network).filter { attachment in
                guard let cni = attachment.cni else { return false }
                return !valid.contains(CNIContainer(containerID: cni.containerID, interface: attachment.containerInterface))
            }
            for attachment in stale { try removePublications(namespaceID: attachment.namespaceID, network: network, in: state) }
            try deleteLinks(named: stale.filter { $0.cni?.chained != true }.map(\.hostInterface))
            for attachment in stale { try release(attachment, in: state) }
            return stale
        }
        return stale + (try collectGarbage().attachments)
    }

    /// STATUS: why an ADD on this network would fail now, or nil when it would not.
    public func cniUnreadiness(_ spec: CNINetworkSpec) throws -> String? {
        let (network, leases) = try store.read { state in
            (try state.network(named: spec.name), try state.leaseCounts(network: spec.name))
        }
        guard let network else {
            if spec.subnets.isEmpty { return "network \(spec.name) does not exist and the configuration gives no subnet" }
            if let bridge = spec.bridge, let link = try hostNetlink().link(named: bridge) {
                return "interface \(bridge) exists (\(link.kind?.description ?? "not a bridge")), so network \(spec.name) cannot be created"
            }
            return nil
        }
        if let link = try hostNetlink().link(named: network.bridge) {
            if link.kind != .bridge { return "interface \(network.bridge) of network \(network.name) is not a bridge" }
        } else if !network.managesBridge {
            return "bridge \(network.bridge) of network \(network.name) does not exist"
        }
        for family in network.families {
            guard let pool = try network.pool(family), UInt128(leases[family] ?? 0) >= pool.assignableCount else { continue }
            return "no free address left in subnet \(pool.subnet) of network \(network.name)"
        }
        return nil
    }

    /// The container's attachment: by the namespace when the runtime still has it, else by
    /// the container id (indexed).
    private func cniAttachment(_ container: CNIContainer, network: String, netns: String?,
                               in state: borrowing StateTransaction) throws -> Attachment? {
        if let netns, !netns.isEmpty, let namespace = try? NetworkNamespace(path: netns),
           let found = try state.attachment(network: network, namespaceID: namespace.identity), found.belongs(to: container) {
            return found
        }
        return try state.attachments(network: network, cniContainerID: container.containerID).first { $0.belongs(to: container) }
    }
}

/// The runtime asked about a container swnet has no record of (CNI error code 3).
public struct CNIUnknownContainer: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
