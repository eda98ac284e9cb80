import IPAM

/// A packet field a set key or a match can be built from.
public enum Field: Sendable, Hashable {
    case ipv4Source, ipv4Destination, ipv6Source, ipv6Destination
    /// The transport protocol (`meta l4proto`), whatever the IP version.
    case l4Protocol
    /// Ports of TCP, UDP or SCTP (`th sport`, `th dport`): check `l4Protocol` too.
    case transportSourcePort, transportDestinationPort
    case inboundInterfaceName, outboundInterfaceName
    case mark

    public var dataType: DataType {
        switch self {
        case .ipv4Source, .ipv4Destination: .ipv4Address
        case .ipv6Source, .ipv6Destination: .ipv6Address
        case .l4Protocol: .inetProtocol
        case .transportSourcePort, .transportDestinationPort: .inetService
        case .inboundInterfaceName, .outboundInterfaceName: .interfaceName
        case .mark: .mark
        }
    }

    /// The IP version a packet must have for the field to mean anything.
    var ipVersion: NATFamily? {
        switch self {
        case .ipv4Source, .ipv4Destination: .ipv4
        case .ipv6Source, .ipv6Destination: .ipv6
        default: nil
        }
    }

    func load(into register: Register) -> Expression {
        switch self {
        case .ipv4Source: .payload(base: .network, offset: 12, length: 4, into: register)
        case .ipv4Destination: .payload(base: .network, offset: 16, length: 4, into: register)
        case .ipv6Source: .payload(base: .network, offset: 8, length: 16, into: register)
        case .ipv6Destination: .payload(base: .network, offset: 24, length: 16, into: register)
        case .l4Protocol: .meta(.l4Protocol, into: register)
        case .transportSourcePort: .payload(base: .transport, offset: 0, length: 2, into: register)
        case .transportDestinationPort: .payload(base: .transport, offset: 2, length: 2, into: register)
        case .inboundInterfaceName: .meta(.inboundInterfaceName, into: register)
        case .outboundInterfaceName: .meta(.outboundInterfaceName, into: register)
        case .mark: .meta(.mark, into: register)
        }
    }

    /// Each field loaded into consecutive registers from the first scratch register: the
    /// layout the kernel expects for a concatenated key.
    static func loadConcatenation(_ fields: [Field]) -> [Expression] {
        var register = Register.scratch(0)
        var loads: [Expression] = []
        for field in fields {
            loads.append(field.load(into: register))
            register = register.advanced(by: registerAligned(field.dataType.length) / 4)
        }
        return loads
    }
}

public enum ConntrackState: UInt32, Sendable, Hashable, CaseIterable {
    // Bits of the ct state register: NF_CT_STATE_BIT(ctinfo) and the untracked bit.
    case invalid = 1, established = 2, related = 4, new = 8, untracked = 64
}

public enum ConntrackStatus: UInt32, Sendable, Hashable {
    case sourceNAT = 0x10, destinationNAT = 0x20
}

/// A condition on the packet, as readable intent: `Match.tcpDestinationPort(8080)`.
public struct Match: Sendable, Hashable {
    public var expressions: [Expression]
    /// The IP version the match needs; a rule in an `inet`, `bridge` or `netdev` table
    /// checks it first (in an `ip` or `ip6` table every packet has it).
    public var ipVersion: NATFamily?

    public init(expressions: [Expression], ipVersion: NATFamily? = nil) {
        self.expressions = expressions
        self.ipVersion = ipVersion
    }

    private static let register = Register.scratch(0)

    /// The same condition, inverted: `oifname != "br0"`.
    public var negated: Match {
        var result = self
        guard let last = expressions.indices.last else { return result }
        switch expressions[last] {
        case .compare(let register, let op, let data):
            let inverse: ComparisonOperator = switch op {
            case .equal: .notEqual
            case .notEqual: .equal
            case .less: .greaterOrEqual
            case .greaterOrEqual: .less
            case .greater: .lessOrEqual
            case .lessOrEqual: .greater
            }
            result.expressions[last] = .compare(register, inverse, data)
        case .lookup(let set, let source, let destination, let inverted):
            result.expressions[last] = .lookup(set: set, source: source, destination: destination, inverted: !inverted)
        case .range(let register, let op, let from, let to):
            result.expressions[last] = .range(register, op == .equal ? .notEqual : .equal, from: from, to: to)
        default:
            preconditionFailure("only a match ending in a comparison, lookup or range can be negated")
        }
        return result
    }

    private static func field(_ field: Field, equals value: [UInt8]) -> Match {
        Match(expressions: [field.load(into: register), .compare(register, .equal, value)], ipVersion: field.ipVersion)
    }

    /// The packet's IP version (`meta nfproto ipv4`).
    public static func nfproto(_ family: NATFamily) -> Match {
        Match(expressions: [.meta(.nfproto, into: register), .compare(register, .equal, [UInt8(family.rawValue)])])
    }

    /// The packet's ethertype (`meta protocol ip`), for bridge and netdev tables.
    public static func etherType(_ family: NATFamily) -> Match {
        Match(expressions: [.meta(.protocol, into: register), .compare(register, .equal, family == .ipv4 ? [0x08, 0x00] : [0x86, 0xdd])])
    }

    public static func l4Protocol(_ proto: TransportProtocol) -> Match {
        field(.l4Protocol, equals: [proto.rawValue])
    }

    public static func ipv4Source(_ address: IPv4Address) -> Match { field(.ipv4Source, equals: address.bytes) }
    public static func ipv4Destination(_ address: IPv4Address) -> Match { field(.ipv4Destination, equals: address.bytes) }

    /// Source address inside a network (`ip saddr 10.88.0.0/16`), IPv4 or IPv6.
    public static func source(in network: IPNetwork) -> Match {
        addressMatch(network, field: network.family == .v4 ? .ipv4Source : .ipv6Source)
    }

    public static func destination(in network: IPNetwork) -> Match {
        addressMatch(network, field: network.family == .v4 ? .ipv4Destination : .ipv6Destination)
    }

    private static func addressMatch(_ network: IPNetwork, field: Field) -> Match {
        let mask = network.netmask.bytes
        var expressions = [field.load(into: register)]
        if mask.contains(where: { $0 != 0xff }) {
            expressions.append(.bitwise(source: register, destination: register, mask: mask,
                                        xor: [UInt8](repeating: 0, count: mask.count)))
        }
        let masked = zip(network.address.bytes, mask).map { $0 & $1 }
        return Match(expressions: expressions + [.compare(register, .equal, masked)], ipVersion: field.ipVersion)
    }

    /// `meta l4proto tcp th dport 8080`.
    public static func destinationPort(_ proto: TransportProtocol, _ port: UInt16) -> Match {
        Match(expressions: l4Protocol(proto).expressions + field(.transportDestinationPort, equals: Value.port(port).bytes).expressions)
    }

    public static func tcpDestinationPort(_ port: UInt16) -> Match { destinationPort(.tcp, port) }
    public static func udpDestinationPort(_ port: UInt16) -> Match { destinationPort(.udp, port) }

    /// `meta l4proto tcp th dport 8000-8100`.
    public static func destinationPorts(_ proto: TransportProtocol, _ ports: ClosedRange<UInt16>) -> Match {
        let load = Field.transportDestinationPort.load(into: register)
        return Match(expressions: l4Protocol(proto).expressions
                     + [load, .range(register, .equal, from: Value.port(ports.lowerBound).bytes, to: Value.port(ports.upperBound).bytes)])
    }

    /// `iifname "eth0"`.
    public static func inboundInterface(_ name: String) -> Match { field(.inboundInterfaceName, equals: interfaceNameBytes(name)) }
    /// `iifgroup 42`: the input interface is in link group `group` (IFLA_GROUP).
    public static func inboundInterfaceGroup(_ group: UInt32) -> Match { meta(.inboundInterfaceGroup, equals: group) }
    /// `oifgroup 42`.
    public static func outboundInterfaceGroup(_ group: UInt32) -> Match { meta(.outboundInterfaceGroup, equals: group) }

    private static func meta(_ key: MetaKey, equals value: UInt32) -> Match {
        Match(expressions: [.meta(key, into: register), .compare(register, .equal, Value.mark(value).bytes)])
    }

    /// `icmpv6 type TYPE`, e.g. 143, an MLDv2 listener report.
    public static func icmpv6Type(_ type: UInt8) -> Match {
        Match(expressions: l4Protocol(.icmpv6).expressions
                  + [.payload(base: .transport, offset: 0, length: 1, into: register), .compare(register, .equal, [type])],
              ipVersion: .ipv6)
    }

    /// `oifname "eth0"`.
    public static func outboundInterface(_ name: String) -> Match { field(.outboundInterfaceName, equals: interfaceNameBytes(name)) }

    /// `ct state established,related`: any of the states.
    public static func conntrackState(_ states: Swift.Set<ConntrackState>) -> Match {
        conntrackBits(.state, states.reduce(0) { $0 | $1.rawValue })
    }

    /// `ct status dnat`.
    public static func conntrackStatus(_ status: ConntrackStatus) -> Match {
        conntrackBits(.status, status.rawValue)
    }

    private static func conntrackBits(_ key: ConntrackKey, _ bits: UInt32) -> Match {
        Match(expressions: [
            .conntrack(key, direction: nil, into: register),
            .bitwise(source: register, destination: register, mask: Value.mark(bits).bytes, xor: [0, 0, 0, 0]),
            .compare(register, .notEqual, [0, 0, 0, 0]),
        ])
    }

    /// `fib daddr type local`: the destination is one of this namespace's addresses.
    public static func fibDestinationType(_ type: AddressType) -> Match {
        Match(expressions: [
            .fib(.addressType, flags: .destinationAddress, into: register),
            .compare(register, .equal, Value.mark(type.rawValue).bytes),
        ])
    }

    /// The fields' values, concatenated, are a key of the named set
    /// (`ip daddr . meta l4proto . th dport @published`).
    public static func inSet(_ set: String, key: [Field]) -> Match {
        Match(expressions: Field.loadConcatenation(key) + [.lookup(set: set, source: .scratch(0), destination: nil, inverted: false)],
              ipVersion: key.lazy.compactMap(\.ipVersion).first)
    }
}

/// What a rule does once it matches, as readable intent: `.counter`, `.dnat(to:port:)`, `.accept`.
public struct Statement: Sendable, Hashable {
    public var expressions: [Expression]
    /// The IP version the statement needs, as for `Match`.
    public var ipVersion: NATFamily?

    public init(expressions: [Expression], ipVersion: NATFamily? = nil) {
        self.expressions = expressions
        self.ipVersion = ipVersion
    }

    public static let counter = Statement(expressions: [.counter])
    public static let masquerade = Statement(expressions: [.masquerade])
    public static let accept = verdict(.accept)
    public static let drop = verdict(.drop)

    public static func verdict(_ verdict: Verdict) -> Statement {
        Statement(expressions: [.immediateVerdict(verdict)])
    }

    public static func jump(_ chain: String) -> Statement { verdict(.jump(chain)) }
    public static func goto(_ chain: String) -> Statement { verdict(.goto(chain)) }

    /// `dnat to 10.0.0.5:80` (IPv4) or `dnat ip6 to [fd00::5]:80`.
    public static func dnat(to address: IPAddress, port: UInt16? = nil) -> Statement {
        nat(.destination, to: address, port: port)
    }

    public static func snat(to address: IPAddress, port: UInt16? = nil) -> Statement {
        nat(.source, to: address, port: port)
    }

    private static func nat(_ type: NATType, to address: IPAddress, port: UInt16?) -> Statement {
        let family: NATFamily = address.family == .v4 ? .ipv4 : .ipv6
        let addressRegister = Register.scratch(0)
        let portRegister = Register.scratch(4)
        var expressions: [Expression] = [.immediateData(address.bytes, into: addressRegister)]
        if let port { expressions.append(.immediateData(Value.port(port).bytes, into: portRegister)) }
        expressions.append(.nat(type, family: family,
                                NATRegisters(address: addressRegister, port: port == nil ? nil : portRegister)))
        return Statement(expressions: expressions, ipVersion: family)
    }

    /// `dnat ip to ip daddr . meta l4proto . th dport map @published`: the key is built
    /// from the fields, the map (value `ipv4_addr . inet_service`, or just the address
    /// when `withPort` is false) gives the new destination. One lookup whatever the size
    /// of the map.
    public static func dnatThroughMap(_ map: String, key: [Field], family: NATFamily = .ipv4, withPort: Bool = true) -> Statement {
        let address = Register.scratch(0)
        let port = withPort ? address.advanced(by: family.addressLength / 4) : nil
        return Statement(expressions: Field.loadConcatenation(key) + [
            .lookup(set: map, source: .scratch(0), destination: address, inverted: false),
            .nat(.destination, family: family, NATRegisters(address: address, port: port)),
        ], ipVersion: family)
    }

    /// `fwd ip6 to ::1 device "lo"` (netdev family): out of interface `index`, to the neighbour
    /// `address`, with the link header that neighbour gets.
    public static func forward(toInterface index: Int32, neighbour address: IPAddress) -> Statement {
        let family: NATFamily = address.family == .v4 ? .ipv4 : .ipv6
        let addressRegister = Register.scratch(0)
        let deviceRegister = addressRegister.advanced(by: family.addressLength / 4)
        return Statement(expressions: [
            .immediateData(address.bytes, into: addressRegister),
            .immediateData(Value.mark(UInt32(bitPattern: index)).bytes, into: deviceRegister),
            .forward(device: deviceRegister, neighbour: addressRegister, family: family),
        ], ipVersion: family)
    }

    /// `ip daddr . th dport vmap @name`: the verdict comes from a verdict map.
    public static func verdictMap(_ map: String, key: [Field]) -> Statement {
        Statement(expressions: Field.loadConcatenation(key) + [.lookup(set: map, source: .scratch(0), destination: .verdict, inverted: false)],
                  ipVersion: key.lazy.compactMap(\.ipVersion).first)
    }
}
