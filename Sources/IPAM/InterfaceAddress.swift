/// An address together with the prefix of its on-link network, as configured on an interface
/// ("10.0.0.5/24"). Unlike `IPNetwork`, the host bits are kept.
public struct InterfaceAddress: Hashable, Sendable, LosslessStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.family.bitWidth).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Requires the "/len" suffix: a bare address would leave the on-link network unknown.
    public init?(_ string: String) {
        guard let (address, prefixLength) = parseAddressWithPrefix(string), let prefixLength else { return nil }
        self.init(address: address, prefixLength: prefixLength)
    }

    public var family: IPFamily { address.family }

    public var network: IPNetwork {
        // The prefix was validated against the family on construction.
        IPNetwork(address: address, prefixLength: prefixLength)!
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
