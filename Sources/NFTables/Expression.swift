/// A 32-bit scratch register of the nftables VM (16 of them); a value longer than 4 bytes
/// fills consecutive registers, so a concatenated key starts at one register and runs on.
public struct Register: Sendable, Hashable {
    public let number: UInt32

    /// Scratch register `index` (0–15).
    public static func scratch(_ index: Int) -> Register {
        precondition((0..<16).contains(index), "nftables has 16 scratch registers")
        return Register(number: 8 + UInt32(index))
    }

    /// The verdict register, written by immediate verdicts and verdict maps.
    public static let verdict = Register(number: 0)

    /// The register `count` 32-bit registers further on.
    func advanced(by count: Int) -> Register { Register(number: number + UInt32(count)) }
}

public enum Verdict: Sendable, Hashable {
    case accept, drop, `continue`, `return`
    case jump(String)
    case goto(String)

    var code: Int32 {
        switch self {
        case .drop: 0
        case .accept: 1
        case .continue: -1
        case .jump: -3
        case .goto: -4
        case .return: -5
        }
    }

    var chain: String? {
        switch self {
        case .jump(let chain), .goto(let chain): chain
        default: nil
        }
    }
}

/// The header a payload offset counts from.
public enum PayloadBase: UInt32, Sendable, Hashable {
    case link = 0, network = 1, transport = 2
}

public enum MetaKey: UInt32, Sendable, Hashable {
    case length = 0, `protocol` = 1, mark = 3, inboundInterface = 4, outboundInterface = 5
    case inboundInterfaceName = 6, outboundInterfaceName = 7, nfproto = 15, l4Protocol = 16
    case inboundInterfaceGroup = 21, outboundInterfaceGroup = 22
}

public enum ComparisonOperator: UInt32, Sendable, Hashable {
    case equal = 0, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

/// Conntrack fields. The address keys are per direction (`ct original ip daddr`).
public enum ConntrackKey: UInt32, Sendable, Hashable {
    case state = 0, direction = 1, status = 2, mark = 3
    case protocolSource = 11, protocolDestination = 12
    case ipv4Source = 19, ipv4Destination = 20, ipv6Source = 21, ipv6Destination = 22
}

public enum ConntrackDirection: UInt8, Sendable, Hashable {
    case original = 0, reply = 1
}

public enum NATType: UInt32, Sendable, Hashable {
    case source = 0, destination = 1
}

/// The family of the addresses a NAT statement writes.
public enum NATFamily: UInt32, Sendable, Hashable {
    case ipv4 = 2, ipv6 = 10

    var addressLength: Int { self == .ipv4 ? 4 : 16 }
}

/// What a fib lookup returns.
public enum FibResult: UInt32, Sendable, Hashable {
    case outboundInterface = 1, outboundInterfaceName = 2, addressType = 3
}

/// Which packet fields a fib lookup uses (`fib daddr type` is `[.destinationAddress]`).
public struct FibFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sourceAddress = FibFlags(rawValue: 1 << 0)
    public static let destinationAddress = FibFlags(rawValue: 1 << 1)
    public static let mark = FibFlags(rawValue: 1 << 2)
    public static let inboundInterface = FibFlags(rawValue: 1 << 3)
    public static let outboundInterface = FibFlags(rawValue: 1 << 4)
}

/// Route types a fib `type` lookup yields (RTN_*).
public enum AddressType: UInt32, Sendable, Hashable {
    case unicast = 1, local = 2, broadcast = 3, anycast = 4, multicast = 5, blackhole = 6, unreachable = 7
}

/// Where a NAT statement finds its new address and port.
public struct NATRegisters: Sendable, Hashable {
    public var address: Register?
    public var port: Register?

    public init(address: Register? = nil, port: Register? = nil) {
        self.address = address
        self.port = port
    }
}

/// The kernel's expressions, register by register. Most callers want `Match` and
/// `Statement`, which pick the registers.
public enum Expression: Sendable, Hashable {
    /// Loads `length` bytes at `offset` from the `base` header.
    case payload(base: PayloadBase, offset: UInt32, length: UInt32, into: Register)
    case meta(MetaKey, into: Register)
    case compare(Register, ComparisonOperator, [UInt8])
    /// `destination = (source & mask) ^ xor`, over `mask.count` bytes.
    case bitwise(source: Register, destination: Register, mask: [UInt8], xor: [UInt8])
    case immediateVerdict(Verdict)
    case immediateData([UInt8], into: Register)
    /// Looks the key starting at `source` up in a set; with `destination`, a map: the value
    /// goes there (`.verdict` for a verdict map). `inverted` matches when the key is absent.
    case lookup(set: String, source: Register, destination: Register?, inverted: Bool)
    case conntrack(ConntrackKey, direction: ConntrackDirection?, into: Register)
    case counter
    case nat(NATType, family: NATFamily, NATRegisters)
    case masquerade
    case fib(FibResult, flags: FibFlags, into: Register)
    /// Matches when the register lies in `from...to` (or not, with `.notEqual`).
    case range(Register, ComparisonOperator, from: [UInt8], to: [UInt8])
    /// Netdev family only: sends the packet out of the interface whose index is in `device`,
    /// to the `family` neighbour whose address is in `neighbour` (its link header rewritten).
    case forward(device: Register, neighbour: Register, family: NATFamily)

    /// The libnftnl expression name, also what `RuleSummary.expressionNames` lists.
    public var name: String {
        switch self {
        case .payload: "payload"
        case .meta: "meta"
        case .compare: "cmp"
        case .bitwise: "bitwise"
        case .immediateVerdict, .immediateData: "immediate"
        case .lookup: "lookup"
        case .conntrack: "ct"
        case .counter: "counter"
        case .nat: "nat"
        case .masquerade: "masq"
        case .fib: "fib"
        case .range: "range"
        case .forward: "fwd"
        }
    }
}
