/// The IP protocol version of an address or network.
public enum IPFamily: Sendable, Hashable, CustomStringConvertible {
    case v4, v6

    public var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    public var description: String {
        switch self {
        case .v4: "IPv4"
        case .v6: "IPv6"
        }
    }

    /// The largest address of the family as an integer; all arithmetic is done in `UInt128`.
    var maxValue: UInt128 {
        switch self {
        case .v4: UInt128(UInt32.max)
        case .v6: UInt128.max
        }
    }

    /// The host part of a network with the given prefix (prefix 0 covers the whole family).
    func hostMask(prefixLength: Int) -> UInt128 {
        // `>>` is a smart shift: shifting by the full width yields 0 rather than trapping.
        maxValue >> prefixLength
    }

    /// Parses the digits after the "/" of a CIDR; signs, spaces and over-long input are rejected.
    func parsePrefixLength(_ digits: some Collection<UInt8>) -> Int? {
        guard (1...3).contains(digits.count) else { return nil }
        var length = 0
        for byte in digits {
            guard let digit = decimalDigitValue(byte) else { return nil }
            length = length * 10 + digit
        }
        return length <= bitWidth ? length : nil
    }
}

func decimalDigitValue(_ byte: UInt8) -> Int? {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
}
