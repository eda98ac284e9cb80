/// A CIDR block. The stored address is always the network address (host bits zero).
public struct IPNetwork: Hashable, Sendable, LosslessStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Masks away host bits, so 10.0.0.5/24 becomes 10.0.0.0/24; nil for an out-of-range prefix.
    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.family.bitWidth).contains(prefixLength) else { return nil }
        let networkMask = address.family.maxValue ^ address.family.hostMask(prefixLength: prefixLength)
        self.address = IPAddress(family: address.family, integerValue: address.integerValue & networkMask)
        self.prefixLength = prefixLength
    }

    /// Accepts "10.0.0.0/24", "10.0.0.5/24" (host bits are masked) and a bare address (a host route).
    public init?(_ string: String) {
        guard let (address, prefixLength) = parseAddressWithPrefix(string) else { return nil }
        self.init(address: address, prefixLength: prefixLength ?? address.family.bitWidth)
    }

    public var family: IPFamily { address.family }

    public var description: String { "\(address)/\(prefixLength)" }

    public var netmask: IPAddress {
        IPAddress(family: family, integerValue: family.maxValue ^ hostMask)
    }

    /// The highest address in the block (the broadcast address of an IPv4 network).
    public var lastAddress: IPAddress {
        IPAddress(family: family, integerValue: address.integerValue | hostMask)
    }

    /// The number of addresses in the block; nil only for ::/0, whose 2^128 does not fit.
    public var addressCount: UInt128? {
        let (count, overflow) = hostMask.addingReportingOverflow(1)
        return overflow ? nil : count
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && address.integerValue & ~hostMask == self.address.integerValue
    }

    public func contains(_ other: IPNetwork) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    /// Two CIDR blocks either nest or are disjoint, so checking both network addresses suffices.
    public func overlaps(_ other: IPNetwork) -> Bool {
        contains(other.address) || other.contains(address)
    }

    /// The address `offset` places after the network address, or nil past the end of the block.
    public func address(atOffset offset: UInt128) -> IPAddress? {
        guard offset <= hostMask else { return nil }
        return IPAddress(family: family, integerValue: address.integerValue + offset)
    }

    /// The position of `address` within the block, or nil when it lies outside.
    public func offset(of address: IPAddress) -> UInt128? {
        guard contains(address) else { return nil }
        return address.integerValue - self.address.integerValue
    }

    var hostMask: UInt128 {
        family.hostMask(prefixLength: prefixLength)
    }
}

/// Splits "address[/prefix]"; the prefix is nil when absent. Shared by networks and interface addresses.
func parseAddressWithPrefix(_ string: String) -> (IPAddress, Int?)? {
    let parts = string.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 1, omittingEmptySubsequences: false)
    guard let address = IPAddress(String(decoding: parts[0], as: UTF8.self)) else { return nil }
    guard parts.count == 2 else { return (address, nil) }
    guard let prefixLength = address.family.parsePrefixLength(parts[1]) else { return nil }
    return (address, prefixLength)
}
