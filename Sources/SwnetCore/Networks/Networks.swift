#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink

/// What `swnet network create` asks for.
public struct NetworkRequest: Sendable {
    public var name: String
    public var subnet: IPNetwork
    public var gateway: IPAddress?
    public var bridge: String?
    public var mtu: UInt32?
    public var masquerade: Bool
    public var isInternal: Bool

    public init(name: String, subnet: IPNetwork, gateway: IPAddress? = nil, bridge: String? = nil, mtu: UInt32? = nil,
                masquerade: Bool = true, isInternal: Bool = false) {
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.bridge = bridge
        self.mtu = mtu
        self.masquerade = masquerade
        self.isInternal = isInternal
    }
}

/// A network with what the state and the kernel say about it now.
public struct NetworkStatus: Sendable, JSONRepresentable {
    public var definition: NetworkDefinition
    public var attachments: [Attachment]
    /// nil when the bridge is missing (e.g. after a reboot, until the next attach recreates it).
    public var bridgeIndex: Int32?
    /// The fast path on this host (shared by all networks).
    public var fastPath: FastPathStatus

    public var json: JSON {
        guard case .object(var object) = definition.json else { return definition.json }
        object["attachments"] = .array(attachments.map(\.json))
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
        let gateway = request.gateway ?? AddressPool.defaultGateway(for: request.subnet)
        do { _ = try AddressPool(subnet: request.subnet, gateway: gateway) } catch { throw SwnetError.invalid("\(error)") }
        try requireNetworkPrivileges(for: "network create")

        return try store.write { state in
            try checkNetworkIsNew(name: request.name, bridge: bridge, subnet: request.subnet, in: state)
            let netlink = try hostNetlink()
            if try netlink.link(named: bridge) != nil {
                throw SwnetError("interface \(bridge) already exists; choose another name with --bridge")
            }
            let network = NetworkDefinition(name: request.name, subnet: request.subnet, gateway: gateway, bridge: bridge,
                                            mtu: request.mtu, managesBridge: true, created: Int64(time(nil)),
                                            masquerade: request.masquerade, isInternal: request.isInternal)
            // The definition is committed first: a crash after it leaves a network whose bridge
            // the next attach recreates, never a bridge nobody knows about.
            try state.save(network)
            try state.commitPending { state in try state.removeNetwork(named: network.name) }
            try Rollback().run { rollback in
                _ = try createBridge(for: network, rollback: rollback)
                Log.debug("network \(network.name): bridge \(bridge) up with \(gateway.map { "gateway \($0)" } ?? "no gateway")")
                try renderFirewall(in: state)
            }
            return network
        }
    }

    private func checkNetworkIsNew(name: String, bridge: String, subnet: IPNetwork, in state: borrowing StateTransaction) throws {
        if try state.network(named: name) != nil { throw SwnetError.networkExists(name) }
        if let other = try state.network(bridge: bridge) {
            throw SwnetError("bridge \(bridge) already belongs to network \(other.name)")
        }
        try checkSubnetIsFree(subnet, in: state)
    }

    /// Makes the bridge of a network swnet manages: fixed MAC (a bridge otherwise takes the
    /// lowest port MAC, and the gateway's MAC would change under the containers), up, with
    /// the gateway address.
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
        if let gateway = network.gateway {
            let address = InterfaceAddress(address: gateway, prefixLength: network.subnet.prefixLength)!
            do { try netlink.addAddress(address, interfaceIndex: bridge.index, noDAD: true) } catch {
                throw SwnetError.during("add gateway \(address) to \(network.bridge)", error)
            }
        }
        return bridge
    }

    /// The network's bridge, recreated when swnet manages it and it is gone (after a reboot).
    package func ensureBridge(for network: NetworkDefinition, rollback: Rollback) throws -> Link {
        let netlink = try hostNetlink()
        if let bridge = try netlink.link(named: network.bridge) {
            guard bridge.kind == "bridge" else {
                throw SwnetError("interface \(network.bridge) of network \(network.name) is not a bridge")
            }
            return bridge
        }
        guard network.managesBridge else {
            throw SwnetError("bridge \(network.bridge) of network \(network.name) does not exist")
        }
        return try createBridge(for: network, rollback: rollback)
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
