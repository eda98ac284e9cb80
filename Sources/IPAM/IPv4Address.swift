/// An IPv4 address, stored as a host-order integer so that ordering and arithmetic are numeric.
public struct IPv4Address: Hashable, Comparable, Sendable, LosslessStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    /// Parses a strict dotted quad. Leading zeros are rejected because some parsers
    /// (inet_aton) read "010" as octal 8, so accepting them would make the input ambiguous.
    public init?(_ string: String) {
        self.init(utf8: string.utf8)
    }

    init?(utf8 text: some Collection<UInt8>) {
        var value: UInt32 = 0
        var partCount = 0
        for part in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            partCount += 1
            guard partCount <= 4, let octet = Self.parseOctet(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        guard partCount == 4 else { return nil }
        self.value = value
    }

    private static func parseOctet(_ digits: some Collection<UInt8>) -> UInt8? {
        guard (1...3).contains(digits.count),
              digits.count == 1 || digits.first != UInt8(ascii: "0")
        else { return nil }
        var octet = 0
        for byte in digits {
            guard let digit = decimalDigitValue(byte) else { return nil }
            octet = octet * 10 + digit
        }
        return UInt8(exactly: octet)
    }

    /// Accepts exactly four bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The address in network (big-endian) byte order.
    public var bytes: [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    public var description: String {
        bytes.map(String.init).joined(separator: ".")
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.value < rhs.value
    }
}
