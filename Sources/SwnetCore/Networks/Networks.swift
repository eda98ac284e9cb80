#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink

/// What `swnet network create` asks for.
public struct NetworkRequest: Sendable {
    public var name: String
    /// At most one per family.
    public var subnets: [IPNetwork]
    /// At most one per family, each of the family of one of `subnets`; a subnet without one
    /// gets its first host address.
    public var gateways: [IPAddress]
    /// `--ipv6`: without an IPv6 subnet in `subnets`, add a unique local /64 derived from the name.
    public var ipv6: Bool
    public var bridge: String?
    public var mtu: UInt32?
    public var masquerade: Bool
    public var isInternal: Bool

    public init(name: String, subnets: [IPNetwork], gateways: [IPAddress] = [], ipv6: Bool = false, bridge: String? = nil,
                mtu: UInt32? = nil, masquerade: Bool = true, isInternal: Bool = false) {
        self.name = name
        self.subnets = subnets
        self.gateways = gateways
        self.ipv6 = ipv6
        self.bridge = bridge
        self.mtu = mtu
        self.masquerade = masquerade
        self.isInternal = isInternal
    }

    /// A single-family network.
    public init(name: String, subnet: IPNetwork, gateway: IPAddress? = nil, bridge: String? = nil, mtu: UInt32? = nil,
                masquerade: Bool = true, isInternal: Bool = false) {
        self.init(name: name, subnets: [subnet], gateways: gateway.map { [$0] } ?? [], bridge: bridge, mtu: mtu,
                  masquerade: masquerade, isInternal: isInternal)
    }
}

/// A network with what the state and the kernel say about it now.
public struct NetworkStatus: Sendable, JSONRepresentable {
    public var definition: NetworkDefinition
    public var attachments: [Attachment]
    /// Interfaces attached pipework's other ways onto the network's bridge (DHCP veths).
    public var interfaces: [LinkAttachment]
    /// nil when the bridge is missing (e.g. after a reboot, until the next attach recreates it).
    public var bridgeIndex: Int32?
    /// The fast path on this host (shared by all networks).
    public var fastPath: FastPathStatus

    public var json: JSON {
        guard case .object(var object) = definition.json else { return definition.json }
        object["attachments"] = .array(attachments.map(\.json))
        object["interfaces"] = .array(interfaces.map(\.json))
        object["fastPath"] = fastPath.json
        object["bridgePresent"] = .bool(bridgeIndex != nil)
        return .object(object)
    }
}

extension Swnet {
    @discardableResult
    public func createNetwork(_ request: NetworkRequest) throws -> NetworkDefinition {
        try NetworkRules.checkName(request.name)
        try NetworkRules.checkMTU(request.mtu)
        let bridge = request.bridge ?? NetworkRules.defaultBridgeName(for: request.name)
        try NetworkRules.checkBridgeName(bridge)
        let (subnets, gateways) = try NetworkRules.addressing(of: request)
        try requireNetworkPrivileges(for: "network create")

        return try store.write { state in
            try NetworkRules.checkIsNew(name: request.name, bridge: bridge, subnets: subnets, among: state.networks())
            let netlink = try hostNetlink()
            if try netlink.link(named: bridge) != nil {
                throw SwnetError("interface \(bridge) already exists; choose another name with --bridge")
            }
            let network = NetworkDefinition(name: request.name, subnets: subnets, gateways: gateways, bridge: bridge,
                                            mtu: request.mtu, managesBridge: true, created: Int64(time(nil)),
                                            masquerade: request.masquerade, isInternal: request.isInternal)
            // The definition is committed first: a crash after it leaves a network whose bridge
            // the next attach recreates, never a bridge nobody knows about.
            try state.save(network)
            try state.commitPending { state in try state.removeNetwork(named: network.name) }
            try Rollback().run { rollback in
                _ = try createBridge(for: network, rollback: rollback)
                Log.debug("network \(network.name): bridge \(bridge) up with \(gateways.isEmpty ? "no gateway" : "gateway \(gateways.map(\.description).joined(separator: ", "))")")
                try renderFirewall(in: state)
            }
            return network
        }
    }

    /// Makes the bridge of a network swnet manages: fixed MAC (a bridge otherwise takes the
    /// lowest port MAC, and the gateway's MAC would change under the containers), up, with
    /// the gateway addresses (IPv6 ones without duplicate address detection: usable at once).
    func createBridge(for network: NetworkDefinition, rollback: Rollback) throws -> Link {
        let netlink = try hostNetlink()
        var spec = LinkSpec(name: network.bridge, kind: .bridge())
        spec.mtu = network.mtu
        spec.mac = InterfaceNames.stableMAC(seed: "bridge/\(network.name)")
        spec.up = true
        do { try netlink.addLink(spec) } catch { throw SwnetError.during("create bridge \(network.bridge)", error) }
        rollback.onFailure { try? netlink.deleteLink(named: network.bridge) }
        guard let bridge = try netlink.link(named: network.bridge) else {
            throw SwnetError("bridge \(network.bridge) vanished right after it was created")
        }
        for subnet in network.subnets {
            guard let gateway = network.gateway(subnet.family) else { continue }
            let address = InterfaceAddress(address: gateway, prefixLength: subnet.prefixLength)!
            do { try netlink.addAddress(address, interfaceIndex: bridge.index, noDAD: true) } catch {
                throw SwnetError.during("add gateway \(address) to \(network.bridge)", error)
            }
        }
        return bridge
    }

    /// The network's bridge, recreated when swnet manages it and it is gone (after a reboot);
    /// `made` says so: the firewall was then most likely lost with it, and wants rendering.
    package func ensureBridge(for network: NetworkDefinition, rollback: Rollback) throws -> (link: Link, made: Bool) {
        let netlink = try hostNetlink()
        if let bridge = try netlink.link(named: network.bridge) {
            guard bridge.kind == .bridge else {
                throw SwnetError("interface \(network.bridge) of network \(network.name) is not a bridge")
            }
            return (bridge, false)
        }
        guard network.managesBridge else {
            throw SwnetError("bridge \(network.bridge) of network \(network.name) does not exist")
        }
        return (try createBridge(for: network, rollback: rollback), true)
    }

    public func listNetworks() throws -> [NetworkStatus] {
        try store.read { state in try state.networks().map { try status(of: $0, in: state) } }
    }

    public func inspectNetwork(_ name: String) throws -> NetworkStatus {
        try store.read { state in
            guard let network = try state.network(named: name) else { throw SwnetError.noSuchNetwork(name) }
            return try status(of: network, in: state)
        }
    }

    private func status(of network: NetworkDefinition, in state: borrowing StateTransaction) throws -> NetworkStatus {
        let bridge = try? hostNetlink().link(named: network.bridge)
        return NetworkStatus(definition: network, attachments: try state.attachments(network: network.name),
                             interfaces: try state.linkAttachments(network: network.name),
                             bridgeIndex: bridge?.index, fastPath: fastPathStatus())
    }

    /// Removes networks. All names are checked before anything changes; with `force`, their
    /// attachments go too, their links deleted in one kernel request.
    public func removeNetworks(_ names: [String], force: Bool) throws {
        try requireNetworkPrivileges(for: "network rm")
        try store.write { state in
            var networks: [NetworkDefinition] = []
            for name in names {
                guard let network = try state.network(named: name) else { throw SwnetError.noSuchNetwork(name) }
                if network.overlay != nil {
                    throw SwnetError("network \(name) is this host's part of an overlay; use swnet overlay leave \(name)")
                }
                try checkRemovable(network, force: force, in: state)
                networks.append(network)
            }
            try remove(networks, in: state)
        }
    }

    package func checkRemovable(_ network: NetworkDefinition, force: Bool, in state: borrowing StateTransaction) throws {
        let count = try state.attachmentCount(network: network.name) + state.linkAttachments(network: network.name).count
        if count > 0 && !force { throw SwnetError.networkInUse(network: network.name, attachments: count) }
    }

    /// Removes networks with their attachments and publications (records and kernel objects).
    package func remove(_ networks: [NetworkDefinition], in state: borrowing StateTransaction) throws {
        // DHCP veths on these networks' bridges: their clients stop, their pairs go.
        for network in networks {
            for record in try state.linkAttachments(network: network.name) { try undo(record, container: nil, in: state) }
        }
        var links: [String] = []
        var attachments: [Attachment] = []
        for network in networks {
            attachments += try state.attachments(network: network.name)
            if network.managesBridge { links.append(network.bridge) }
        }
        for network in networks { try disableFastPath(network: network) }
        try deleteLinks(named: attachments.map(\.hostInterface) + links)
        try disableFastPath(attachments)
        for network in networks { try state.removeNetwork(named: network.name) }
        try renderFirewall(in: state)
    }
}
