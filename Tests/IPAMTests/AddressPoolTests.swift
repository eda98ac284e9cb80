import IPAM
import Testing

private func pool(_ subnet: String, gateway: String? = nil) throws -> AddressPool {
    try AddressPool(subnet: #require(IPNetwork(subnet)), gateway: gateway.map { try #require(IPAddress($0)) })
}

@Suite struct AddressPoolTests {
    @Test(arguments: [
        ("10.0.0.0/24", "10.0.0.1" as String?),
        ("10.0.0.0/30", "10.0.0.1"),
        ("10.0.0.0/31", nil),
        ("10.0.0.0/32", nil),
        ("2001:db8::/64", "2001:db8::1"),
        ("2001:db8::/126", "2001:db8::1"),
        ("2001:db8::/127", nil),
        ("2001:db8::1/128", nil),
    ])
    func picksTheFirstAssignableAddressAsDefaultGateway(subnet: String, gateway: String?) {
        #expect(AddressPool.defaultGateway(for: IPNetwork(subnet)!) == gateway.flatMap(IPAddress.init))
    }

    @Test(arguments: [
        // subnet, gateway, address, reservation
        ("10.0.0.0/24", "10.0.0.1" as String?, "10.0.0.0", "the network address" as String?),
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.255", "the broadcast address"),
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.1", "the gateway"),
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.2", nil),
        ("10.0.0.0/24", "10.0.0.1", "10.0.0.254", nil),
        ("10.0.0.0/24", nil, "10.0.0.1", nil),
        ("10.0.0.0/30", "10.0.0.1", "10.0.0.0", "the network address"),
        ("10.0.0.0/30", "10.0.0.1", "10.0.0.3", "the broadcast address"),
        ("10.0.0.0/30", "10.0.0.1", "10.0.0.2", nil),
        // RFC 3021: both addresses of a /31 are usable.
        ("10.0.0.0/31", nil, "10.0.0.0", nil),
        ("10.0.0.0/31", nil, "10.0.0.1", nil),
        ("10.0.0.0/31", "10.0.0.0", "10.0.0.0", "the gateway"),
        ("10.0.0.0/31", "10.0.0.0", "10.0.0.1", nil),
        ("10.0.0.9/32", nil, "10.0.0.9", nil),
        // IPv6 has no broadcast; the network address is the subnet-router anycast address.
        ("2001:db8::/64", "2001:db8::1", "2001:db8::", "the subnet-router anycast address"),
        ("2001:db8::/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", nil),
        ("2001:db8::/64", "2001:db8::1", "2001:db8::1", "the gateway"),
        // RFC 6164: a /127 has no anycast address.
        ("2001:db8::/127", nil, "2001:db8::", nil),
        ("2001:db8::/127", nil, "2001:db8::1", nil),
    ])
    func reservesAddresses(subnet: String, gateway: String?, address: String, reason: String?) throws {
        #expect(try pool(subnet, gateway: gateway).reservation(of: #require(IPAddress(address))) == reason)
    }

    static let assignableCounts: [(subnet: String, gateway: String?, count: UInt128)] = [
        ("10.0.0.0/24", "10.0.0.1", 253),
        ("10.0.0.0/24", nil, 254),
        ("10.0.0.0/30", "10.0.0.1", 1),
        ("10.0.0.0/31", nil, 2),
        ("10.0.0.0/31", "10.0.0.1", 1),
        ("10.0.0.0/32", nil, 1),
        ("0.0.0.0/0", nil, UInt128(UInt32.max) - 1),
        ("2001:db8::/64", "2001:db8::1", UInt128(UInt64.max) - 1),
        ("2001:db8::/127", nil, 2),
        ("::/0", nil, UInt128.max),
        ("::/0", "::1", UInt128.max - 1),
    ]

    @Test(arguments: assignableCounts)
    func countsAssignableAddresses(subnet: String, gateway: String?, count: UInt128) throws {
        #expect(try pool(subnet, gateway: gateway).assignableCount == count)
    }

    @Test(arguments: [
        ("10.0.0.0/24", "10.0.1.1", IPAMError.gatewayOutsideSubnet(IPAddress("10.0.1.1")!, IPNetwork("10.0.0.0/24")!)),
        ("10.0.0.0/24", "::1", .familyMismatch(IPAddress("::1")!, IPNetwork("10.0.0.0/24")!)),
        ("10.0.0.0/24", "10.0.0.0", .reserved(IPAddress("10.0.0.0")!, reason: "the network address")),
        ("10.0.0.0/24", "10.0.0.255", .reserved(IPAddress("10.0.0.255")!, reason: "the broadcast address")),
        ("2001:db8::/64", "2001:db8::", .reserved(IPAddress("2001:db8::")!, reason: "the subnet-router anycast address")),
        ("10.0.0.1/32", "10.0.0.1", .subnetTooSmall(IPNetwork("10.0.0.1/32")!)),
        ("2001:db8::1/128", "2001:db8::1", .subnetTooSmall(IPNetwork("2001:db8::1/128")!)),
    ])
    func rejectsUnusableGateways(subnet: String, gateway: String, error: IPAMError) {
        #expect(throws: error) { try pool(subnet, gateway: gateway) }
    }

    @Test func acceptsAGatewayThatLeavesOneAddress() throws {
        #expect(try pool("10.0.0.0/30", gateway: "10.0.0.2").assignableCount == 1)
        #expect(try pool("10.0.0.0/31", gateway: "10.0.0.0").assignableCount == 1)
    }

    @Test(arguments: [
        ("10.0.0.2", nil as IPAMError?),
        ("10.0.0.254", nil),
        ("10.0.1.5", .outsideSubnet(IPAddress("10.0.1.5")!, IPNetwork("10.0.0.0/24")!)),
        ("2001:db8::5", .familyMismatch(IPAddress("2001:db8::5")!, IPNetwork("10.0.0.0/24")!)),
        ("10.0.0.0", .reserved(IPAddress("10.0.0.0")!, reason: "the network address")),
        ("10.0.0.255", .reserved(IPAddress("10.0.0.255")!, reason: "the broadcast address")),
        ("10.0.0.1", .reserved(IPAddress("10.0.0.1")!, reason: "the gateway")),
    ])
    func validatesRequestedAddresses(address: String, error: IPAMError?) throws {
        let pool = try pool("10.0.0.0/24", gateway: "10.0.0.1")
        if let error {
            #expect(throws: error) { try pool.validate(requested: IPAddress(address)!) }
        } else {
            #expect(throws: Never.self) { try pool.validate(requested: IPAddress(address)!) }
        }
    }

    @Test(arguments: [
        (IPAMError.outsideSubnet(IPAddress("10.0.1.5")!, IPNetwork("10.0.0.0/24")!), "10.0.1.5 is outside subnet 10.0.0.0/24"),
        (.reserved(IPAddress("10.0.0.255")!, reason: "the broadcast address"), "10.0.0.255 is reserved as the broadcast address"),
        (.familyMismatch(IPAddress("::1")!, IPNetwork("10.0.0.0/24")!), "::1 is an IPv6 address but subnet 10.0.0.0/24 is IPv4"),
        (.exhausted(IPNetwork("10.0.0.0/30")!), "no free addresses left in subnet 10.0.0.0/30"),
        (.gatewayOutsideSubnet(IPAddress("10.0.1.1")!, IPNetwork("10.0.0.0/24")!), "gateway 10.0.1.1 is outside subnet 10.0.0.0/24"),
        (.subnetTooSmall(IPNetwork("10.0.0.1/32")!), "subnet 10.0.0.1/32 is too small: no address is left to assign"),
    ])
    func describesErrorsForUsers(error: IPAMError, message: String) {
        #expect(error.description == message)
    }
}

@Suite struct CandidateOrderTests {
    private func strings(_ candidates: some Sequence<IPAddress>) -> [String] {
        candidates.map(\.description)
    }

    @Test func startsAtTheFirstAssignableAddressWithoutCursor() throws {
        let pool = try pool("10.0.0.0/29", gateway: "10.0.0.1")
        #expect(strings(pool.candidates(after: nil)) == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"])
    }

    @Test func continuesAfterTheCursorAndWrapsAroundOnce() throws {
        let pool = try pool("10.0.0.0/29", gateway: "10.0.0.1")
        #expect(strings(pool.candidates(after: IPAddress("10.0.0.4"))) == ["10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4"])
        #expect(strings(pool.candidates(after: IPAddress("10.0.0.6"))) == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"])
        // Reserved cursors are fine too: the last address is the broadcast address.
        #expect(strings(pool.candidates(after: IPAddress("10.0.0.7"))) == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"])
        #expect(strings(pool.candidates(after: IPAddress("10.0.0.1"))) == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"])
    }

    @Test(arguments: ["10.0.1.4", "::1", "9.255.255.255"])
    func startsOverWhenTheCursorIsOutsideTheSubnet(cursor: String) throws {
        let pool = try pool("10.0.0.0/30", gateway: nil)
        #expect(strings(pool.candidates(after: IPAddress(cursor))) == ["10.0.0.1", "10.0.0.2"])
    }

    @Test func yieldsEveryAddressOfPointToPointSubnets() throws {
        #expect(strings(try pool("10.0.0.0/31").candidates(after: nil)) == ["10.0.0.0", "10.0.0.1"])
        #expect(strings(try pool("10.0.0.0/31").candidates(after: IPAddress("10.0.0.0"))) == ["10.0.0.1", "10.0.0.0"])
        #expect(strings(try pool("10.0.0.0/31", gateway: "10.0.0.1").candidates(after: nil)) == ["10.0.0.0"])
        #expect(strings(try pool("10.0.0.9/32").candidates(after: IPAddress("10.0.0.9"))) == ["10.0.0.9"])
        #expect(strings(try pool("2001:db8::/127").candidates(after: nil)) == ["2001:db8::", "2001:db8::1"])
    }

    @Test func matchesTheAssignableCount() throws {
        for (subnet, gateway) in [("10.0.0.0/24", "10.0.0.1"), ("10.0.0.0/30", "10.0.0.2"), ("2001:db8::/120", "2001:db8::1")] {
            let pool = try pool(subnet, gateway: gateway)
            let candidates = Array(pool.candidates(after: IPAddress(gateway)))
            #expect(UInt128(candidates.count) == pool.assignableCount)
            #expect(Set(candidates).count == candidates.count)
            #expect(candidates.allSatisfy { pool.reservation(of: $0) == nil && pool.subnet.contains($0) })
        }
    }

    @Test func iteratesHugeSubnetsLazily() throws {
        let v4 = try pool("10.0.0.0/8", gateway: "10.0.0.1")
        #expect(strings(v4.candidates(after: nil).prefix(3)) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"])
        #expect(strings(v4.candidates(after: IPAddress("10.255.255.253")).prefix(3)) == ["10.255.255.254", "10.0.0.2", "10.0.0.3"])

        let v6 = try pool("2001:db8::/64", gateway: "2001:db8::1")
        #expect(strings(v6.candidates(after: nil).prefix(2)) == ["2001:db8::2", "2001:db8::3"])
        #expect(strings(v6.candidates(after: IPAddress("2001:db8::ffff:ffff:ffff:fffe")).prefix(3))
            == ["2001:db8::ffff:ffff:ffff:ffff", "2001:db8::2", "2001:db8::3"])

        let everything = try pool("::/0")
        #expect(strings(everything.candidates(after: IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")).prefix(2))
            == ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1"])
    }
}

@Suite("AddressPool on an IPv6 /64")
struct IPv6PoolTests {
    /// A /64 holds 2^64 addresses: allocation must start where the cursor is, never scan.
    @Test func theNextCandidateAfterACursorIsFoundAtOnce() throws {
        let pool = try AddressPool(subnet: IPNetwork("fd00:1::/64")!, gateway: IPAddress("fd00:1::1"))
        #expect(Array(pool.candidates(after: nil).prefix(2)) == [IPAddress("fd00:1::2")!, IPAddress("fd00:1::3")!])
        #expect(pool.candidates(after: IPAddress("fd00:1::ffff:ffff")).first(where: { _ in true }) == IPAddress("fd00:1::1:0:0"))
        #expect(pool.candidates(after: IPAddress("fd00:1::ffff:ffff:ffff:ffff")).first(where: { _ in true }) == IPAddress("fd00:1::2"))
        #expect(pool.assignableCount == UInt128(1) << 64 - 2)
    }
}
