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
    public static func validateNetworkName(_ name: String) throws(SwnetError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed, name.first != ".", name.first != "-" else {
            throw SwnetError.invalid("invalid network name '\(name)': use up to 64 letters, digits, '-', '_' or '.', not starting with '.' or '-'")
        }
    }

    package static func validateMTU(_ mtu: UInt32?) throws(SwnetError) {
        if let mtu, !(68...65535).contains(mtu) { throw SwnetError.invalid("invalid MTU \(mtu): must be between 68 and 65535") }
    }

    /// An RFC 4193 unique local /64 for a network that asks for IPv6 without a subnet: the
    /// 40-bit global ID is a hash of the name instead of random, so the same name gets the
    /// same prefix every time (and on every host), and the subnet ID is 0.
    public static func uniqueLocalSubnet(for network: String) -> IPNetwork {
        let globalID = UInt128(StableHash.fnv1a("swnet/\(network)") & 0xff_ffff_ffff)
        let prefix = UInt128(0xfd) << 120 | globalID << 80
        return IPNetwork(address: .v6(IPv6Address(prefix)), prefixLength: 64)!
    }

    /// The request's subnets and gateways, checked: one subnet per family at most, a gateway
    /// per subnet (given, or the subnet's first host address), `--ipv6`'s subnet added.
    static func addressing(of request: NetworkRequest) throws(SwnetError) -> (subnets: [IPNetwork], gateways: [IPAddress]) {
        var subnets = request.subnets
        if request.ipv6 && !subnets.contains(where: { $0.family == .v6 }) { subnets.append(uniqueLocalSubnet(for: request.name)) }
        guard !subnets.isEmpty else { throw .invalid("network \(request.name) needs a subnet: give --subnet CIDR or --ipv6") }
        for family in [IPFamily.v4, .v6] {
            let given = subnets.filter { $0.family == family }
            if given.count > 1 { throw .invalid("two \(family) subnets given (\(given.map(\.description).joined(separator: ", "))): a network has at most one per family") }
            let gateways = request.gateways.filter { $0.family == family }
            if gateways.count > 1 { throw .invalid("two \(family) gateways given (\(gateways.map(\.description).joined(separator: ", ")))") }
            if let gateway = gateways.first, given.isEmpty { throw .invalid("gateway \(gateway) has no \(family) subnet to belong to") }
        }
        var gateways: [IPAddress] = []
        for subnet in subnets {
            let gateway = request.gateways.first { $0.family == subnet.family } ?? AddressPool.defaultGateway(for: subnet)
            do { _ = try AddressPool(subnet: subnet, gateway: gateway) } catch { throw .invalid("\(error)") }
            if let gateway { gateways.append(gateway) }
        }
        return (subnets, gateways)
    }

    /// The bridge's name for a network: the network's own name when the kernel accepts it.
    package static func defaultBridgeName(for network: String) -> String {
        InterfaceNames.isValid(network) ? network : "swbr" + String(StableHash.fnv1a(network) & 0xffff_ffff, radix: 16).leftPadded(to: 8)
    }

    @discardableResult
    public func createNetwork(_ request: NetworkRequest) throws -> NetworkDefinition {
        try Self.validateNetworkName(request.name)
        try Self.validateMTU(request.mtu)
        let bridge = request.bridge ?? Self.defaultBridgeName(for: request.name)
        try InterfaceNames.validate(bridge, role: "bridge")
        let (subnets, gateways) = try Self.addressing(of: request)
        try requireNetworkPrivileges(for: "network create")

        return try store.write { state in
            try checkNetworkIsNew(name: request.name, bridge: bridge, subnets: subnets, in: state)
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

    private func checkNetworkIsNew(name: String, bridge: String, subnets: [IPNetwork], in state: borrowing StateTransaction) throws {
        if try state.network(named: name) != nil { throw SwnetError.networkExists(name) }
        if let other = try state.network(bridge: bridge) {
            throw SwnetError("bridge \(bridge) already belongs to network \(other.name)")
        }
        for subnet in subnets { try checkSubnetIsFree(subnet, in: state) }
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
            guard bridge.kind == "bridge" else {
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
