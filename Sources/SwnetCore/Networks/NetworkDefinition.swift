import IPAM
import JSON

/// A network as the user defined it. Persists across reboots (under the lib directory);
/// its bridge is recreated on demand when the machine comes back without it.
public struct NetworkDefinition: Sendable, Equatable {
    public var name: String
    public var subnet: IPNetwork
    public var gateway: IPAddress?
    public var bridge: String
    public var mtu: UInt32?
    /// False for an existing Linux bridge swnet adopted: swnet then never creates, addresses
    /// or deletes it.
    public var managesBridge: Bool
    public var created: Int64
    /// Masquerade the subnet's traffic leaving through any other interface.
    public var masquerade = true
    /// No way out at all: only the bridge's own members and the host talk.
    public var isInternal = false
    /// Set when this host's part of a multi-host overlay: the subnet is the host's share.
    public var overlay: OverlayMembership?

    public var pool: AddressPool {
        get throws { try AddressPool(subnet: subnet, gateway: gateway) }
    }
}

extension NetworkDefinition: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "name": .string(name),
            "subnet": .string(subnet.description),
            "bridge": .string(bridge),
            "managesBridge": .bool(managesBridge),
            "created": .int(created),
            "masquerade": .bool(masquerade),
            "internal": .bool(isInternal),
        ]
        object["gateway"] = gateway.map { .string($0.description) } ?? .null
        object["mtu"] = mtu.map { .int(Int64($0)) } ?? .null
        if let overlay { object["overlay"] = overlay.json }
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let name = json["name"]?.string,
              let subnet = json["subnet"]?.string.flatMap(IPNetwork.init),
              let bridge = json["bridge"]?.string
        else { throw SwnetError("network definition is damaged") }
        self.name = name
        self.subnet = subnet
        self.bridge = bridge
        gateway = json["gateway"]?.string.flatMap(IPAddress.init)
        mtu = json["mtu"]?.int.map { UInt32(clamping: $0) }
        managesBridge = json["managesBridge"]?.bool ?? true
        created = json["created"]?.int ?? 0
        masquerade = json["masquerade"]?.bool ?? true
        isInternal = json["internal"]?.bool ?? false
        overlay = try json["overlay"].map { json throws(SwnetError) in try OverlayMembership(json: json) }
    }
}

/// What a host's network records about the overlay it belongs to.
public struct OverlayMembership: Sendable, Equatable {
    /// The whole overlay: traffic within it is neither masqueraded nor isolated.
    public var clusterSubnet: IPNetwork
    public var mode: OverlayMode
    /// The VXLAN device (vxlan mode) or the underlay interface (host-gw) peers are reached through.
    public var tunnel: String
    public var underlayIP: IPAddress
    /// The etcd lease this host's registration is bound to.
    public var lease: Int64
}

extension OverlayMembership: JSONRepresentable {
    public var json: JSON {
        [
            "clusterSubnet": .string(clusterSubnet.description),
            "mode": .string(mode.rawValue),
            "tunnel": .string(tunnel),
            "underlayIP": .string(underlayIP.description),
            "lease": .string(String(lease, radix: 16)),
        ]
    }

    init(json: JSON) throws(SwnetError) {
        guard let clusterSubnet = json["clusterSubnet"]?.string.flatMap(IPNetwork.init),
              let mode = json["mode"]?.string.flatMap(OverlayMode.init(rawValue:)),
              let tunnel = json["tunnel"]?.string,
              let underlayIP = json["underlayIP"]?.string.flatMap(IPAddress.init),
              let lease = json["lease"]?.string.flatMap({ Int64($0, radix: 16) })
        else { throw SwnetError("overlay membership of a network definition is damaged") }
        self.init(clusterSubnet: clusterSubnet, mode: mode, tunnel: tunnel, underlayIP: underlayIP, lease: lease)
    }
}
