import IPAM
import JSON
import SwnetCore

/// What every host of an overlay agrees on. Written to etcd once by `overlay create`.
public struct OverlayConfiguration: Sendable, Equatable {
    public var name: String
    /// The whole overlay; each host leases one `/hostPrefix` of it.
    public var subnet: IPNetwork
    public var hostPrefix: Int
    /// The overlay's IPv6 range (dual stack), nil for IPv4 only. Each host's IPv6 share is the
    /// `/hostPrefix6` with the index of its IPv4 share: leasing one leases both, so hosts
    /// never race for the second.
    public var subnet6: IPNetwork?
    public var hostPrefix6: Int
    public var vni: UInt32
    public var port: UInt16
    public var mode: OverlayMode
    /// The containers' MTU; nil: the underlay's MTU less the encapsulation.
    public var mtu: UInt32?

    public static let defaultHostPrefix = 24
    public static let defaultHostPrefix6 = 64
    public static let defaultPort: UInt16 = 4789
    /// VXLAN over IPv4: outer IP (20) + UDP (8) + VXLAN (8) + inner Ethernet (14); over IPv6
    /// the outer header is 40 bytes.
    public static func vxlanOverhead(underlay: IPFamily) -> UInt32 { underlay == .v4 ? 50 : 70 }

    public init(name: String, subnet: IPNetwork, hostPrefix: Int = OverlayConfiguration.defaultHostPrefix,
                subnet6: IPNetwork? = nil, hostPrefix6: Int = OverlayConfiguration.defaultHostPrefix6, vni: UInt32 = 1,
                port: UInt16 = OverlayConfiguration.defaultPort, mode: OverlayMode = .vxlan, mtu: UInt32? = nil) {
        self.name = name
        self.subnet = subnet
        self.hostPrefix = hostPrefix
        self.subnet6 = subnet6
        self.hostPrefix6 = hostPrefix6
        self.vni = vni
        self.port = port
        self.mode = mode
        self.mtu = mtu
    }

    func validate() throws(SwnetError) {
        try NetworkRules.checkName(name)
        guard subnet.family == .v4 else { throw SwnetError("overlay subnet \(subnet) is not IPv4: an overlay needs an IPv4 subnet (an IPv6 one may come with it)") }
        try Self.checkAligned(subnet)
        guard hostPrefix > subnet.prefixLength, hostPrefix <= 30 else {
            throw SwnetError.invalid("invalid host prefix /\(hostPrefix): must be longer than the overlay's /\(subnet.prefixLength) and at most /30")
        }
        if let subnet6 {
            guard subnet6.family == .v6 else { throw SwnetError.invalid("two IPv4 subnets given (\(subnet), \(subnet6)): an overlay has at most one per family") }
            try Self.checkAligned(subnet6)
            // Host i gets the i-th share of each family: IPv6 needs at least as many shares.
            guard hostPrefix6 - subnet6.prefixLength >= hostPrefix - subnet.prefixLength, hostPrefix6 <= 126 else {
                throw SwnetError.invalid("invalid IPv6 host prefix /\(hostPrefix6): \(subnet6) must hold as many /\(hostPrefix6)s as \(subnet) holds /\(hostPrefix)s (give /\(subnet6.prefixLength + hostPrefix - subnet.prefixLength) to /126)")
            }
        }
        guard (1...0xff_ffff).contains(vni) else { throw SwnetError.invalid("invalid VNI \(vni): must be between 1 and 16777215") }
        guard port > 0 else { throw SwnetError.invalid("invalid VXLAN port 0") }
        try NetworkRules.checkMTU(mtu)
    }

    private static func checkAligned(_ subnet: IPNetwork) throws(SwnetError) {
        guard subnet.address == subnet.address(atOffset: 0) else {
            throw SwnetError("overlay subnet \(subnet) has host bits set; did you mean \(IPNetwork(address: subnet.address(atOffset: 0)!, prefixLength: subnet.prefixLength)!)?")
        }
    }

    /// Both ranges, IPv4 first.
    public var subnets: [IPNetwork] { [subnet] + (subnet6.map { [$0] } ?? []) }

    /// `overlay create --ipv6` without an IPv6 subnet: the /48 around the unique local /64
    /// `network create --ipv6` derives from the same name, room for 65,536 hosts' /64s.
    public static func uniqueLocalSubnet(for overlay: String) -> IPNetwork {
        IPNetwork(address: NetworkRules.uniqueLocalSubnet(for: overlay).address, prefixLength: 48)!
    }

    /// How many hosts the overlay has room for.
    var hostSubnetCount: Int { 1 << min(hostPrefix - subnet.prefixLength, 24) }

    func hostSubnet(_ index: Int) -> IPNetwork? {
        guard index >= 0, index < hostSubnetCount,
              let address = subnet.address(atOffset: UInt128(index) << UInt128(32 - hostPrefix))
        else { return nil }
        return IPNetwork(address: address, prefixLength: hostPrefix)
    }

    /// A subnet a host may hold: one aligned `/hostPrefix` of the overlay.
    func isHostSubnet(_ candidate: IPNetwork) -> Bool {
        candidate.prefixLength == hostPrefix && subnet.contains(candidate) && candidate.address == candidate.address(atOffset: 0)
    }

    /// The IPv6 share that goes with the IPv4 share `hostSubnet` (the same index in the
    /// IPv6 range); nil for an IPv4-only overlay.
    public func hostSubnet6(pairedWith hostSubnet: IPNetwork) -> IPNetwork? {
        guard let subnet6, isHostSubnet(hostSubnet) else { return nil }
        guard let offset = subnet.address.distance(to: hostSubnet.address) else { return nil }
        let index = offset >> UInt128(32 - hostPrefix)
        guard let address = subnet6.address(atOffset: index << UInt128(128 - hostPrefix6)) else { return nil }
        return IPNetwork(address: address, prefixLength: hostPrefix6)
    }

    /// This host's shares: the IPv4 one and the IPv6 one paired with it.
    func hostSubnets(_ hostSubnet: IPNetwork) -> [IPNetwork] {
        [hostSubnet] + (hostSubnet6(pairedWith: hostSubnet).map { [$0] } ?? [])
    }

    /// The MTU of the containers' interfaces given the underlay's MTU and address family.
    func containerMTU(underlayMTU: UInt32, underlay family: IPFamily = .v4) -> UInt32 {
        if let mtu { return mtu }
        return mode == .vxlan ? underlayMTU - Self.vxlanOverhead(underlay: family) : underlayMTU
    }

    /// The VXLAN device of this overlay on every host.
    var tunnelDevice: String { "swvx\(vni)" }
}

extension OverlayConfiguration: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "name": .string(name),
            "subnet": .string(subnet.description),
            "hostPrefix": .int(Int64(hostPrefix)),
            "vni": .int(Int64(vni)),
            "port": .int(Int64(port)),
            "mode": .string(mode.rawValue),
        ]
        object["mtu"] = mtu.map { .int(Int64($0)) } ?? .null
        // Absent for IPv4-only overlays: configurations written before dual stack read the same.
        if let subnet6 {
            object["subnet6"] = .string(subnet6.description)
            object["hostPrefix6"] = .int(Int64(hostPrefix6))
        }
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let name = json["name"]?.string,
              let subnet = json["subnet"]?.string.flatMap(IPNetwork.init),
              let hostPrefix = json["hostPrefix"]?.int,
              let vni = json["vni"]?.int.flatMap(UInt32.init(exactly:)),
              let port = json["port"]?.int.flatMap(UInt16.init(exactly:)),
              let mode = json["mode"]?.string.flatMap(OverlayMode.init(rawValue:))
        else { throw SwnetError("overlay configuration in etcd is damaged") }
        let subnet6 = json["subnet6"]?.string.map(IPNetwork.init)
        guard subnet6 != .some(nil) else { throw SwnetError("overlay configuration in etcd is damaged") }
        self.init(name: name, subnet: subnet, hostPrefix: Int(hostPrefix), subnet6: subnet6 ?? nil,
                  hostPrefix6: json["hostPrefix6"]?.int.map(Int.init) ?? Self.defaultHostPrefix6, vni: vni, port: port, mode: mode,
                  mtu: json["mtu"]?.int.flatMap(UInt32.init(exactly:)))
    }

    /// "subnet 10.1.0.0/16, host prefix /24, vxlan VNI 1 port 4789": for messages.
    public var summary: String {
        var text = "subnet \(subnet), host prefix /\(hostPrefix)"
        if let subnet6 { text += ", subnet \(subnet6), host prefix /\(hostPrefix6)" }
        text += ", \(mode.rawValue)"
        if mode == .vxlan { text += " VNI \(vni) port \(port)" }
        if let mtu { text += ", MTU \(mtu)" }
        return text
    }
}

/// Where an overlay lives in etcd: `<prefix>/overlays/<name>/config` and one key per host,
/// `<prefix>/overlays/<name>/hosts/<a.b.c.d-len>`, bound to that host's lease.
struct OverlayKeys: Equatable {
    static let root = "/swnet/overlays/"
    let name: String

    var base: String { "\(Self.root)\(name)/" }
    var config: String { base + "config" }
    var hosts: String { base + "hosts/" }

    func host(_ subnet: IPNetwork) -> String { "\(hosts)\(subnet.address)-\(subnet.prefixLength)" }

    func subnet(ofHostKey key: String) -> IPNetwork? {
        guard key.hasPrefix(hosts) else { return nil }
        let suffix = key.dropFirst(hosts.count)
        guard let dash = suffix.lastIndex(of: "-") else { return nil }
        return IPNetwork("\(suffix[..<dash])/\(suffix[suffix.index(after: dash)...])")
    }
}
