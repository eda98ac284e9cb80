import IPAM
import JSON

/// A network as the user defined it. Persists across reboots (under the lib directory);
/// its bridge is recreated on demand when the machine comes back without it.
public struct NetworkDefinition: Sendable, Equatable {
    public var name: String
    /// At most one subnet per family, IPv4 first; never empty.
    public var subnets: [IPNetwork]
    /// At most one gateway per family, in the order of `subnets`; a subnet may have none.
    public var gateways: [IPAddress]
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

    public init(name: String, subnets: [IPNetwork], gateways: [IPAddress], bridge: String, mtu: UInt32?,
                managesBridge: Bool, created: Int64, masquerade: Bool = true, isInternal: Bool = false,
                overlay: OverlayMembership? = nil) {
        self.name = name
        self.subnets = subnets.sorted { $0.family == .v4 && $1.family == .v6 }
        self.gateways = gateways.sorted { $0.family == .v4 && $1.family == .v6 }
        self.bridge = bridge
        self.mtu = mtu
        self.managesBridge = managesBridge
        self.created = created
        self.masquerade = masquerade
        self.isInternal = isInternal
        self.overlay = overlay
    }

    /// A single-family network (pipework's implicit one, an adopted bridge, an overlay's share).
    public init(name: String, subnet: IPNetwork, gateway: IPAddress?, bridge: String, mtu: UInt32?,
                managesBridge: Bool, created: Int64, masquerade: Bool = true, isInternal: Bool = false,
                overlay: OverlayMembership? = nil) {
        self.init(name: name, subnets: [subnet], gateways: gateway.map { [$0] } ?? [], bridge: bridge, mtu: mtu,
                  managesBridge: managesBridge, created: created, masquerade: masquerade, isInternal: isInternal,
                  overlay: overlay)
    }

    public func subnet(_ family: IPFamily) -> IPNetwork? {
        subnets.first { $0.family == family }
    }

    public func gateway(_ family: IPFamily) -> IPAddress? {
        gateways.first { $0.family == family }
    }

    /// The first subnet: the IPv4 one on a dual-stack network.
    public var subnet: IPNetwork { subnets[0] }

    /// The gateway of the first subnet.
    public var gateway: IPAddress? { gateway(subnet.family) }

    public var families: [IPFamily] { subnets.map(\.family) }

    /// The pool of the family's subnet; nil when the network has no subnet of that family.
    public func pool(_ family: IPFamily) throws(IPAMError) -> AddressPool? {
        guard let subnet = subnet(family) else { return nil }
        return try AddressPool(subnet: subnet, gateway: gateway(family))
    }

    public var pool: AddressPool {
        get throws { try AddressPool(subnet: subnet, gateway: gateway) }
    }
}

extension NetworkDefinition: JSONRepresentable {
    /// "subnets" and "gateways" list every family; "subnet" and "gateway" repeat the first
    /// subnet's, as records written before dual stack had them, for older readers and scripts.
    public var json: JSON {
        var object: [String: JSON] = [
            "name": .string(name),
            "subnets": .array(subnets.map { .string($0.description) }),
            "subnet": .string(subnet.description),
            "gateways": .array(gateways.map { .string($0.description) }),
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
              let subnets = Self.addresses(json, list: "subnets", single: "subnet", IPNetwork.init),
              !subnets.isEmpty, Set(subnets.map(\.family)).count == subnets.count,
              let gateways = Self.addresses(json, list: "gateways", single: "gateway", IPAddress.init),
              let bridge = json["bridge"]?.string
        else { throw SwnetError("network definition is damaged") }
        self.init(name: name, subnets: subnets, gateways: gateways, bridge: bridge,
                  mtu: json["mtu"]?.int.map { UInt32(clamping: $0) },
                  managesBridge: json["managesBridge"]?.bool ?? true, created: json["created"]?.int ?? 0,
                  masquerade: json["masquerade"]?.bool ?? true, isInternal: json["internal"]?.bool ?? false,
                  overlay: try json["overlay"].map { json throws(SwnetError) in try OverlayMembership(json: json) })
    }

    /// The `list` array of a record, or its `single` value in a record written before dual
    /// stack (absent or null: none); nil when an entry does not parse.
    static func addresses<Value>(_ json: JSON, list: String, single: String, _ parse: (String) -> Value?) -> [Value]? {
        if let entries = json[list]?.array {
            let values = entries.compactMap { $0.string.flatMap(parse) }
            return values.count == entries.count ? values : nil
        }
        guard let text = json[single]?.string else { return [] }
        return parse(text).map { [$0] }
    }
}

/// What a host's network records about the overlay it belongs to.
public struct OverlayMembership: Sendable, Equatable {
    /// The whole overlay, one range per family (IPv4 first): traffic within it is neither
    /// masqueraded nor isolated.
    public var clusterSubnets: [IPNetwork]
    public var mode: OverlayMode
    /// The VXLAN device (vxlan mode) or the underlay interface (host-gw) peers are reached through.
    public var tunnel: String
    public var underlayIP: IPAddress
    /// The etcd lease this host's registration is bound to.
    public var lease: Int64

    public init(clusterSubnets: [IPNetwork], mode: OverlayMode, tunnel: String, underlayIP: IPAddress, lease: Int64) {
        self.clusterSubnets = clusterSubnets.sorted { $0.family == .v4 && $1.family == .v6 }
        self.mode = mode
        self.tunnel = tunnel
        self.underlayIP = underlayIP
        self.lease = lease
    }

    /// The IPv4 range: every overlay has one.
    public var clusterSubnet: IPNetwork { clusterSubnets[0] }

    public func clusterSubnet(_ family: IPFamily) -> IPNetwork? {
        clusterSubnets.first { $0.family == family }
    }
}

extension OverlayMembership: JSONRepresentable {
    public var json: JSON {
        // "clusterSubnet" repeats the IPv4 range, as records written before dual stack had it.
        [
            "clusterSubnets": .array(clusterSubnets.map { .string($0.description) }),
            "clusterSubnet": .string(clusterSubnet.description),
            "mode": .string(mode.rawValue),
            "tunnel": .string(tunnel),
            "underlayIP": .string(underlayIP.description),
            "lease": .string(String(lease, radix: 16)),
        ]
    }

    init(json: JSON) throws(SwnetError) {
        guard let clusterSubnets = NetworkDefinition.addresses(json, list: "clusterSubnets", single: "clusterSubnet", IPNetwork.init),
              !clusterSubnets.isEmpty,
              let mode = json["mode"]?.string.flatMap(OverlayMode.init(rawValue:)),
              let tunnel = json["tunnel"]?.string,
              let underlayIP = json["underlayIP"]?.string.flatMap(IPAddress.init),
              let lease = json["lease"]?.string.flatMap({ Int64($0, radix: 16) })
        else { throw SwnetError("overlay membership of a network definition is damaged") }
        self.init(clusterSubnets: clusterSubnets, mode: mode, tunnel: tunnel, underlayIP: underlayIP, lease: lease)
    }
}
