import CNftnl
import IPAM

/// The address family a table belongs to: which packets its chains see.
public enum Family: UInt8, Sendable, Hashable {
    case inet = 1, ipv4 = 2, arp = 3, netdev = 5, bridge = 7, ipv6 = 10

    /// The name `nft` prints: `ip`, `inet`, …
    public var name: String {
        switch self {
        case .inet: "inet"
        case .ipv4: "ip"
        case .arp: "arp"
        case .netdev: "netdev"
        case .bridge: "bridge"
        case .ipv6: "ip6"
        }
    }
}

/// A table: the unit of ownership (swnet keeps everything in its own) and of deletion.
public struct Table: Sendable, Hashable {
    public var family: Family
    public var name: String

    public init(family: Family, name: String) {
        self.family = family
        self.name = name
    }
}

/// Where in the packet path a base chain is attached.
public enum Hook: UInt32, Sendable, Hashable {
    case prerouting = 0, input = 1, forward = 2, output = 3, postrouting = 4

    /// A netdev-family chain's hook: packets as they arrive on its `BaseChain.device`, before
    /// any protocol sees them. The kernel numbers it 0, as prerouting.
    public static let ingress = Hook.prerouting

    public var name: String {
        switch self {
        case .prerouting: "prerouting"
        case .input: "input"
        case .forward: "forward"
        case .output: "output"
        case .postrouting: "postrouting"
        }
    }
}

public enum ChainType: String, Sendable, Hashable {
    case filter, nat, route
}

/// What happens to a packet that reaches the end of a base chain.
public enum ChainPolicy: UInt32, Sendable, Hashable {
    case drop = 0, accept = 1
}

/// Well-known priorities, as `nft` names them.
public enum Priority {
    public static let dstnat: Int32 = -100
    public static let filter: Int32 = 0
    public static let srcnat: Int32 = 100
}

/// The attachment of a base chain; a chain without one is a regular chain, reached only
/// by jump or goto.
public struct BaseChain: Sendable, Hashable {
    public var type: ChainType
    public var hook: Hook
    public var priority: Int32
    public var policy: ChainPolicy?
    /// The interface a netdev-family chain is attached to; nil in every other family.
    public var device: String?

    public init(type: ChainType, hook: Hook, priority: Int32, policy: ChainPolicy? = nil, device: String? = nil) {
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
        self.device = device
    }
}

public struct Chain: Sendable, Hashable {
    public var table: Table
    public var name: String
    public var base: BaseChain?
    /// Set by the kernel; nil in chains built to be added.
    public var handle: UInt64?

    public init(table: Table, name: String, base: BaseChain? = nil) {
        self.table = table
        self.name = name
        self.base = base
    }
}

/// One rule: expressions the kernel evaluates in order. Build it from raw expressions
/// or, more readably, from matches and statements.
public struct Rule: Sendable, Hashable {
    public var table: Table
    public var chain: String
    public var expressions: [Expression]

    public init(table: Table, chain: String, expressions: [Expression]) {
        self.table = table
        self.chain = chain
        self.expressions = expressions
    }

    /// `Rule(table: t, chain: "prerouting", matching: [.tcpDestinationPort(8080)], then: [.counter, .accept])`.
    /// In a table that sees more than one IP version, the rule first checks the version
    /// its matches and statements need, once.
    public init(table: Table, chain: String, matching matches: [Match] = [], then statements: [Statement]) {
        var versions: [NATFamily] = []
        for version in matches.compactMap(\.ipVersion) + statements.compactMap(\.ipVersion) where !versions.contains(version) {
            versions.append(version)
        }
        let guards: [Expression] = switch table.family {
        case .ipv4, .ipv6, .arp: []
        case .inet: versions.flatMap { Match.nfproto($0).expressions }
        case .bridge, .netdev: versions.flatMap { Match.etherType($0).expressions }
        }
        self.init(table: table, chain: chain,
                  expressions: guards + matches.flatMap(\.expressions) + statements.flatMap(\.expressions))
    }
}

/// A rule as the kernel lists it: where it is, its handle and the kinds of its expressions
/// (`["meta", "cmp", "payload", "cmp", "immediate"]`).
public struct RuleSummary: Sendable, Hashable {
    public var table: Table
    public var chain: String
    public var handle: UInt64
    public var expressionNames: [String]
}

/// The type of one set key or map value component, as `nft` knows it (its id gives the
/// type `nft` prints; the length is what the kernel compares).
public struct DataType: Sendable, Hashable {
    public var id: UInt32
    public var name: String
    /// Bytes of one value.
    public var length: Int

    public init(id: UInt32, name: String, length: Int) {
        self.id = id
        self.name = name
        self.length = length
    }

    public static let ipv4Address = DataType(id: 7, name: "ipv4_addr", length: 4)
    public static let ipv6Address = DataType(id: 8, name: "ipv6_addr", length: 16)
    public static let etherAddress = DataType(id: 9, name: "ether_addr", length: 6)
    public static let inetProtocol = DataType(id: 12, name: "inet_proto", length: 1)
    public static let inetService = DataType(id: 13, name: "inet_service", length: 2)
    public static let mark = DataType(id: 19, name: "mark", length: 4)
    public static let interfaceName = DataType(id: 41, name: "ifname", length: 16)

    static let known: [DataType] = [.ipv4Address, .ipv6Address, .etherAddress, .inetProtocol, .inetService, .mark, .interfaceName]

    /// nft packs a concatenation's type ids 6 bits each, first component highest.
    static let concatenationBits: UInt32 = 6

    static func encode(_ types: [DataType]) -> UInt32 {
        types.reduce(0) { ($0 << concatenationBits) | $1.id }
    }

    /// The components of a (possibly concatenated) type id; lengths are known only for
    /// the types listed in `known` (0 otherwise).
    static func decode(_ id: UInt32) -> [DataType] {
        var remaining = id
        var components: [DataType] = []
        let mask: UInt32 = (1 << concatenationBits) - 1
        repeat {
            let component = remaining & mask
            components.insert(known.first { $0.id == component } ?? DataType(id: component, name: "type \(component)", length: 0), at: 0)
            remaining >>= concatenationBits
        } while remaining != 0
        return components
    }

    /// Bytes of a key or value made of these components: each component of a
    /// concatenation fills whole 32-bit registers.
    static func storageLength(_ types: [DataType]) -> Int {
        types.count == 1 ? types[0].length : types.reduce(0) { $0 + registerAligned($1.length) }
    }
}

func registerAligned(_ length: Int) -> Int { (length + 3) & ~3 }

/// What a map gives back for a key.
public enum MapValue: Sendable, Hashable {
    /// A map to data, e.g. `ipv4_addr . inet_service` for DNAT targets.
    case data([DataType])
    /// A verdict map (`vmap`).
    case verdict
}

/// A named set or map.
public struct SetSpec: Sendable, Hashable {
    public var table: Table
    public var name: String
    /// One type, or several for a concatenated key (`ipv4_addr . inet_proto . inet_service`).
    public var key: [DataType]
    /// nil for a set, the value type for a map.
    public var value: MapValue?
    /// Elements are ranges (`10.0.0.0/8`, `8000-8100`).
    public var interval: Bool
    /// Set by the kernel; nil in sets built to be added.
    public var handle: UInt64?

    public init(table: Table, name: String, key: [DataType], value: MapValue? = nil, interval: Bool = false) {
        precondition(!key.isEmpty, "a set needs a key type")
        self.table = table
        self.name = name
        self.key = key
        self.value = value
        self.interval = interval
    }

    var isConcatenation: Bool { key.count > 1 }

    var flags: UInt32 {
        var flags: UInt32 = 0
        switch value {
        case .data?, .verdict?: flags |= NFTSetFlag.map
        case nil: break
        }
        if interval { flags |= NFTSetFlag.interval }
        // Concatenated ranges live in the pipapo backend, which the kernel picks by this flag.
        if interval && isConcatenation { flags |= NFTSetFlag.concatenation }
        return flags
    }
}

enum NFTSetFlag {
    static let interval = UInt32(NFT_SET_INTERVAL.rawValue)
    static let map = UInt32(NFT_SET_MAP.rawValue)
    static let concatenation = UInt32(NFT_SET_CONCAT.rawValue)
}

/// One typed component of a set key or map value.
public enum Value: Sendable, Hashable {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address)
    case l4Protocol(TransportProtocol)
    case port(UInt16)
    case interfaceName(String)
    case mark(UInt32)
    case bytes([UInt8])

    /// `.ipv4` or `.ipv6`, as the address is.
    public static func address(_ address: IPAddress) -> Value {
        switch address {
        case .v4(let address): .ipv4(address)
        case .v6(let address): .ipv6(address)
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .ipv4(let address): address.bytes
        case .ipv6(let address): address.bytes
        case .l4Protocol(let proto): [proto.rawValue]
        case .port(let port): [UInt8(port >> 8), UInt8(port & 0xff)]
        case .interfaceName(let name): interfaceNameBytes(name)
        case .mark(let mark): withUnsafeBytes(of: mark) { Array($0) }
        case .bytes(let bytes): bytes
        }
    }

    /// A key or value as the kernel stores it: one component as is, the components of a
    /// concatenation each padded to whole registers.
    static func encode(_ components: [Value]) -> [UInt8] {
        guard components.count > 1 else { return components.first?.bytes ?? [] }
        return components.flatMap { component in
            let bytes = component.bytes
            return bytes + [UInt8](repeating: 0, count: registerAligned(bytes.count) - bytes.count)
        }
    }
}

public enum TransportProtocol: UInt8, Sendable, Hashable {
    case icmp = 1, tcp = 6, udp = 17, icmpv6 = 58, sctp = 132
}

/// Interface names are compared as IFNAMSIZ bytes, NUL padded.
func interfaceNameBytes(_ name: String) -> [UInt8] {
    let bytes = Array(name.utf8.prefix(15))
    return bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
}

/// What a map element maps its key to.
public enum ElementValue: Sendable, Hashable {
    case data([UInt8])
    case verdict(Verdict)
}

/// A set or map element. `key` is the (encoded) key, `keyEnd` the last key of a range in
/// a concatenated interval set.
public struct SetElement: Sendable, Hashable {
    public var key: [UInt8]
    public var keyEnd: [UInt8]?
    public var value: ElementValue?
    /// Marks the exclusive end of a range in a single-field interval set.
    public var isIntervalEnd: Bool

    public init(key: [UInt8], keyEnd: [UInt8]? = nil, value: ElementValue? = nil, isIntervalEnd: Bool = false) {
        self.key = key
        self.keyEnd = keyEnd
        self.value = value
        self.isIntervalEnd = isIntervalEnd
    }

    /// `10.0.0.1 . tcp . 8080 : 10.0.0.5 . 80` is
    /// `SetElement([.ipv4(a), .l4Protocol(.tcp), .port(8080)], maps: [.ipv4(b), .port(80)])`.
    public init(_ key: [Value], maps value: [Value]? = nil) {
        self.init(key: Value.encode(key), value: value.map { .data(Value.encode($0)) })
    }

    public init(_ key: [Value], verdict: Verdict) {
        self.init(key: Value.encode(key), value: .verdict(verdict))
    }

    /// The elements for a range `first...last` in an interval set: a start and an end
    /// element in a single-field set, one element with an end key in a concatenated one.
    public static func range(from first: [Value], to last: [Value], value: ElementValue? = nil) -> [SetElement] {
        if first.count > 1 {
            return [SetElement(key: Value.encode(first), keyEnd: Value.encode(last), value: value)]
        }
        let start = SetElement(key: Value.encode(first), value: value)
        // The kernel's single-field intervals end just past the last key; a range up to the
        // highest key has no end element.
        guard let pastEnd = incremented(Value.encode(last)) else { return [start] }
        return [start, SetElement(key: pastEnd, isIntervalEnd: true)]
    }

    /// A network as a range of addresses in an interval set.
    public static func network(_ network: IPNetwork, value: ElementValue? = nil) -> [SetElement] {
        range(from: [.bytes(network.address.bytes)], to: [.bytes(network.lastAddress.bytes)], value: value)
    }

    /// Big-endian +1; nil when it wraps around.
    static func incremented(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0xff { result[index] = 0 } else { result[index] += 1; return result }
        }
        return nil
    }
}
