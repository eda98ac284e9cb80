import IPAM
import JSON
import SwnetCore

/// What every host of an overlay agrees on. Written to etcd once by `overlay create`.
public struct OverlayConfiguration: Sendable, Equatable {
    public var name: String
    /// The whole overlay; each host leases one `/hostPrefix` of it.
    public var subnet: IPNetwork
    public var hostPrefix: Int
    public var vni: UInt32
    public var port: UInt16
    public var mode: OverlayMode
    /// The containers' MTU; nil: the underlay's MTU less the encapsulation.
    public var mtu: UInt32?

    public static let defaultHostPrefix = 24
    public static let defaultPort: UInt16 = 4789
    /// VXLAN over IPv4: outer IP (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
    public static let vxlanOverhead: UInt32 = 50

    public init(name: String, subnet: IPNetwork, hostPrefix: Int = OverlayConfiguration.defaultHostPrefix, vni: UInt32 = 1,
                port: UInt16 = OverlayConfiguration.defaultPort, mode: OverlayMode = .vxlan, mtu: UInt32? = nil) {
        self.name = name
        self.subnet = subnet
        self.hostPrefix = hostPrefix
        self.vni = vni
        self.port = port
        self.mode = mode
        self.mtu = mtu
    }

    func validate() throws(SwnetError) {
        try NetworkRules.checkName(name)
        guard subnet.family == .v4 else { throw SwnetError("overlay subnet \(subnet) is not IPv4: overlays are IPv4 only") }
        guard subnet.address == subnet.address(atOffset: 0) else {
            throw SwnetError("overlay subnet \(subnet) has host bits set; did you mean \(IPNetwork(address: subnet.address(atOffset: 0)!, prefixLength: subnet.prefixLength)!)?")
        }
        guard hostPrefix > subnet.prefixLength, hostPrefix <= 30 else {
            throw SwnetError.invalid("invalid host prefix /\(hostPrefix): must be longer than the overlay's /\(subnet.prefixLength) and at most /30")
        }
        guard (1...0xff_ffff).contains(vni) else { throw SwnetError.invalid("invalid VNI \(vni): must be between 1 and 16777215") }
        guard port > 0 else { throw SwnetError.invalid("invalid VXLAN port 0") }
        try NetworkRules.checkMTU(mtu)
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

    /// The MTU of the containers' interfaces given the underlay's.
    func containerMTU(underlayMTU: UInt32) -> UInt32 {
        if let mtu { return mtu }
        return mode == .vxlan ? underlayMTU - Self.vxlanOverhead : underlayMTU
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
        self.init(name: name, subnet: subnet, hostPrefix: Int(hostPrefix), vni: vni, port: port, mode: mode,
                  mtu: json["mtu"]?.int.flatMap(UInt32.init(exactly:)))
    }

    /// "subnet 10.1.0.0/16, host prefix /24, vxlan VNI 1 port 4789": for messages.
    public var summary: String {
        var text = "subnet \(subnet), host prefix /\(hostPrefix), \(mode.rawValue)"
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
