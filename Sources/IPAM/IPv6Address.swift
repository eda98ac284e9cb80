/// An IPv6 address, stored as a host-order integer so that ordering and arithmetic are numeric.
public struct IPv6Address: Hashable, Comparable, Sendable, LosslessStringConvertible {
    public var value: UInt128

    public init(_ value: UInt128) {
        self.value = value
    }

    /// Parses the RFC 4291 text forms, including "::" compression and a trailing dotted quad.
    /// Zone ids ("%eth0") are rejected: they name an interface, not part of the address.
    public init?(_ string: String) {
        let text = Array(string.utf8)
        let colon = UInt8(ascii: ":")

        var compression: Int?
        var index = 0
        while index + 1 < text.count {
            if text[index] == colon && text[index + 1] == colon {
                guard compression == nil else { return nil }
                compression = index
                index += 2
            } else {
                index += 1
            }
        }

        let groups: [UInt16]
        if let compression {
            guard let head = Self.parseGroups(text[..<compression], allowingTrailingIPv4: false),
                  let tail = Self.parseGroups(text[(compression + 2)...], allowingTrailingIPv4: true),
                  head.count + tail.count <= 7  // "::" stands for at least one zero group
            else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = Self.parseGroups(text[...], allowingTrailingIPv4: true), all.count == 8
            else { return nil }
            groups = all
        }
        self.value = groups.reduce(0) { $0 << 16 | UInt128($1) }
    }

    /// Parses colon-separated hex groups; an empty slice is zero groups (one side of "::").
    private static func parseGroups(_ text: ArraySlice<UInt8>, allowingTrailingIPv4: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, part) in parts.enumerated() {
            if allowingTrailingIPv4, position == parts.count - 1, part.contains(UInt8(ascii: ".")) {
                guard let ipv4 = IPv4Address(utf8: part) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: ipv4.value >> 16))
                groups.append(UInt16(truncatingIfNeeded: ipv4.value))
            } else {
                guard let group = parseHexGroup(part) else { return nil }
                groups.append(group)
            }
        }
        return groups
    }

    private static func parseHexGroup(_ digits: ArraySlice<UInt8>) -> UInt16? {
        guard (1...4).contains(digits.count) else { return nil }
        var group: UInt16 = 0
        for byte in digits {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            group = group << 4 | UInt16(digit)
        }
        return group
    }

    /// Accepts exactly sixteen bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt128($1) }
    }

    /// The address in network (big-endian) byte order.
    public var bytes: [UInt8] {
        stride(from: 120, through: 0, by: -8).map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    /// The link-local address an interface with this 48-bit MAC makes for itself (RFC 4291
    /// appendix A: modified EUI-64, the universal/local bit flipped); nil unless 6 bytes.
    public static func linkLocal(mac: some Collection<UInt8>) -> IPv6Address? {
        let bytes = Array(mac)
        guard bytes.count == 6 else { return nil }
        let interfaceID = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]]
        return IPv6Address(bytes: [0xfe, 0x80, 0, 0, 0, 0, 0, 0] + interfaceID)
    }

    /// fe80::/10.
    public var isLinkLocal: Bool {
        value >> 118 == 0x3FA
    }

    /// ::ffff:0:0/96, which RFC 5952 section 5 prints with a dotted quad.
    public var isIPv4Mapped: Bool {
        value >> 32 == 0xFFFF
    }

    /// RFC 5952 canonical text: lowercase, no leading zeros, the longest run of two or more
    /// zero groups (the first one on a tie) replaced by "::".
    public var description: String {
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: value)).description
        }
        let groups = stride(from: 112, through: 0, by: -16).map { UInt16(truncatingIfNeeded: value >> $0) }

        var longest: Range<Int>?
        var runStart: Int?
        for index in 0...groups.count {
            if index < groups.count, groups[index] == 0 {
                runStart = runStart ?? index
            } else if let start = runStart {
                if index - start >= 2, index - start > (longest?.count ?? 0) {
                    longest = start..<index
                }
                runStart = nil
            }
        }

        func hex(_ groups: ArraySlice<UInt16>) -> String {
            groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard let longest else { return hex(groups[...]) }
        return hex(groups[..<longest.lowerBound]) + "::" + hex(groups[longest.upperBound...])
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        lhs.value < rhs.value
    }
}
