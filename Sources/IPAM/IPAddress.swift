/// An address of either family. IPv4 addresses order before IPv6 ones.
public enum IPAddress: Hashable, Comparable, Sendable, LosslessStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ string: String) {
        // A colon can only appear in IPv6 text, so there is never a second guess to make.
        if string.utf8.contains(UInt8(ascii: ":")) {
            guard let address = IPv6Address(string) else { return nil }
            self = .v6(address)
        } else {
            guard let address = IPv4Address(string) else { return nil }
            self = .v4(address)
        }
    }

    /// Accepts 4 bytes (IPv4) or 16 bytes (IPv6) in network order.
    public init?(bytes: some Collection<UInt8>) {
        if let address = IPv4Address(bytes: bytes) {
            self = .v4(address)
        } else if let address = IPv6Address(bytes: bytes) {
            self = .v6(address)
        } else {
            return nil
        }
    }

    public var family: IPFamily {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    /// 0.0.0.0 or ::, which a socket binds to mean every address of the family.
    public static func unspecified(_ family: IPFamily) -> IPAddress {
        IPAddress(family: family, integerValue: 0)
    }

    public var isUnspecified: Bool { integerValue == 0 }

    /// The address as it goes before `:PORT`: IPv6 in brackets (`[::1]:8080`).
    public var withPortSeparator: String {
        switch self {
        case .v4(let address): "\(address)"
        case .v6(let address): "[\(address)]"
        }
    }

    /// The address `offset` places further on, or nil when that passes the family's last address.
    public func advanced(by offset: UInt128) -> IPAddress? {
        let (sum, overflow) = integerValue.addingReportingOverflow(offset)
        guard !overflow, sum <= family.maxValue else { return nil }
        return IPAddress(family: family, integerValue: sum)
    }

    /// How many places `other` lies after this address; nil across families or when `other` is lower.
    public func distance(to other: IPAddress) -> UInt128? {
        guard other.family == family, other.integerValue >= integerValue else { return nil }
        return other.integerValue - integerValue
    }

    var integerValue: UInt128 {
        switch self {
        case .v4(let address): UInt128(address.value)
        case .v6(let address): address.value
        }
    }

    /// Callers guarantee that `integerValue` fits the family.
    init(family: IPFamily, integerValue: UInt128) {
        switch family {
        case .v4: self = .v4(IPv4Address(UInt32(integerValue)))
        case .v6: self = .v6(IPv6Address(integerValue))
        }
    }
}
