/// The assignable addresses of one subnet. The pool holds no lease state: whoever owns the
/// leases walks `candidates(after:)` and claims the first address that is still free.
public struct AddressPool: Sendable, Hashable {
    public let subnet: IPNetwork
    public let gateway: IPAddress?

    /// Throws when the gateway is not an assignable address of `subnet`, or when the gateway
    /// would take the subnet's last assignable address.
    public init(subnet: IPNetwork, gateway: IPAddress?) throws(IPAMError) {
        if let gateway {
            guard gateway.family == subnet.family else { throw .familyMismatch(gateway, subnet) }
            guard subnet.contains(gateway) else { throw .gatewayOutsideSubnet(gateway, subnet) }
            if let reason = Self.structuralReservation(of: gateway, in: subnet) {
                throw .reserved(gateway, reason: reason)
            }
        }
        self.subnet = subnet
        self.gateway = gateway
        guard assignableCount > 0 else { throw .subnetTooSmall(subnet) }
    }

    /// The conventional gateway: the first address after the reserved network address.
    /// Nil for point-to-point subnets (IPv4 /31 and /32, IPv6 /127 and /128), where every
    /// address belongs to an endpoint.
    public static func defaultGateway(for subnet: IPNetwork) -> IPAddress? {
        guard structuralReservationCount(in: subnet) > 0 else { return nil }
        return subnet.address(atOffset: 1)
    }

    /// Why `address` cannot be assigned from this pool, or nil when it can (or lies outside
    /// the subnet, which `validate(requested:)` reports separately).
    public func reservation(of address: IPAddress) -> String? {
        if address == gateway { return "the gateway" }
        return Self.structuralReservation(of: address, in: subnet)
    }

    public func validate(requested address: IPAddress) throws(IPAMError) {
        guard address.family == subnet.family else { throw .familyMismatch(address, subnet) }
        guard subnet.contains(address) else { throw .outsideSubnet(address, subnet) }
        if let reason = reservation(of: address) { throw .reserved(address, reason: reason) }
    }

    /// The number of addresses that can be handed out. It always fits: even ::/0 reserves
    /// its subnet-router anycast address, leaving at most 2^128 - 1.
    public var assignableCount: UInt128 {
        let reserved = Self.structuralReservationCount(in: subnet) + (gateway == nil ? 0 : 1)
        // hostMask is the address count minus one; rearranged so that ::/0 does not overflow.
        return reserved == 0 ? subnet.hostMask + 1 : subnet.hostMask - UInt128(reserved - 1)
    }

    /// Assignable addresses in round-robin order: starting just after `cursor` (at the start of
    /// the subnet when `cursor` is nil or outside it), wrapping around once and ending with
    /// `cursor` itself. Addresses are computed on demand, so huge subnets cost nothing up front.
    public func candidates(after cursor: IPAddress?) -> some Sequence<IPAddress> {
        var start: UInt128 = 0
        if let cursor, let offset = subnet.offset(of: cursor), offset < subnet.hostMask {
            start = offset + 1
        }
        return Candidates(pool: self, start: start)
    }

    /// At most three addresses are reserved, so skipping them costs only a few extra steps.
    private struct Candidates: Sequence, IteratorProtocol {
        let pool: AddressPool
        let start: UInt128
        /// The offset to try next; nil once the cycle has come back to `start`.
        var pending: UInt128?

        init(pool: AddressPool, start: UInt128) {
            self.pool = pool
            self.start = start
            self.pending = start
        }

        mutating func next() -> IPAddress? {
            let subnet = pool.subnet
            while let offset = pending {
                let following = offset == subnet.hostMask ? 0 : offset + 1
                pending = following == start ? nil : following
                let address = IPAddress(family: subnet.family, integerValue: subnet.address.integerValue + offset)
                if pool.reservation(of: address) == nil { return address }
            }
            return nil
        }
    }

    /// Addresses reserved by the shape of the subnet, regardless of the gateway.
    private static func structuralReservation(of address: IPAddress, in subnet: IPNetwork) -> String? {
        guard structuralReservationCount(in: subnet) > 0 else { return nil }
        switch subnet.family {
        case .v4:
            if address == subnet.address { return "the network address" }
            if address == subnet.lastAddress { return "the broadcast address" }
        case .v6:
            if address == subnet.address { return "the subnet-router anycast address" }
        }
        return nil
    }

    /// Point-to-point subnets reserve nothing: RFC 3021 for IPv4 /31, RFC 6164 for IPv6 /127,
    /// and a host route has only the one address.
    private static func structuralReservationCount(in subnet: IPNetwork) -> Int {
        guard subnet.prefixLength < subnet.family.bitWidth - 1 else { return 0 }
        return subnet.family == .v4 ? 2 : 1
    }
}
