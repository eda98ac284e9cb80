import IPAM
import Testing

@Suite struct IPNetworkTests {
    @Test(arguments: [
        ("10.0.0.0/24", "10.0.0.0/24"),
        ("10.0.0.5/24", "10.0.0.0/24"),
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("255.255.255.255/0", "0.0.0.0/0"),
        ("172.16.5.4/12", "172.16.0.0/12"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("2001:db8:1:2:3:4:5:6/48", "2001:db8:1::/48"),
        ("::1", "::1/128"),
        ("ffff::/0", "::/0"),
    ])
    func parsesAndMasksHostBits(text: String, canonical: String) throws {
        let network = try #require(IPNetwork(text))
        #expect(network.description == canonical)
        #expect(IPNetwork(canonical) == network)
    }

    @Test(arguments: [
        "", "/24", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+24", "10.0.0.0/2a", "10.0.0.0/24/1",
        "10.0.0.0/ 24", "10.0.0.0/0024", "::/129", "::/", "10.0.0/24", "fe80::/64%eth0",
    ])
    func rejectsInvalidText(text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test func rejectsPrefixOutsideFamilyRange() {
        #expect(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: -1) == nil)
        #expect(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: 33) == nil)
        #expect(IPNetwork(address: IPAddress("::")!, prefixLength: 129) == nil)
        #expect(IPNetwork(address: IPAddress("::")!, prefixLength: 128) != nil)
    }

    @Test(arguments: [
        ("10.0.0.0/24", "255.255.255.0", "10.0.0.255", UInt128(256) as UInt128?),
        ("10.0.0.0/8", "255.0.0.0", "10.255.255.255", 1 << 24),
        ("10.0.0.0/31", "255.255.255.254", "10.0.0.1", 2),
        ("10.0.0.7/32", "255.255.255.255", "10.0.0.7", 1),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255", 1 << 32),
        ("2001:db8::/64", "ffff:ffff:ffff:ffff::", "2001:db8::ffff:ffff:ffff:ffff", 1 << 64),
        ("::/1", "8000::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 << 127),
        ("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", nil),
    ])
    func describesItsRange(text: String, netmask: String, last: String, count: UInt128?) throws {
        let network = try #require(IPNetwork(text))
        #expect(network.netmask == IPAddress(netmask))
        #expect(network.lastAddress == IPAddress(last))
        #expect(network.addressCount == count)
    }

    @Test(arguments: [
        ("10.0.0.0/24", "10.0.0.0", true),
        ("10.0.0.0/24", "10.0.0.255", true),
        ("10.0.0.0/24", "10.0.1.0", false),
        ("10.0.0.0/24", "9.255.255.255", false),
        ("10.0.0.0/24", "::ffff:10.0.0.1", false),
        ("0.0.0.0/0", "255.255.255.255", true),
        ("0.0.0.0/0", "::", false),
        ("::/0", "1.2.3.4", false),
        ("::/0", "ffff::", true),
        ("2001:db8::/64", "2001:db8::ffff:0:0:1", true),
        ("2001:db8::/64", "2001:db8:0:1::", false),
        ("10.0.0.1/32", "10.0.0.1", true),
        ("10.0.0.1/32", "10.0.0.2", false),
    ])
    func containsAddresses(network: String, address: String, expected: Bool) {
        #expect(IPNetwork(network)!.contains(IPAddress(address)!) == expected)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.1.0.0/16", true, true),
        ("10.1.0.0/16", "10.0.0.0/8", false, true),
        ("10.0.0.0/24", "10.0.0.0/24", true, true),
        ("10.0.0.0/24", "10.0.1.0/24", false, false),
        ("10.0.0.0/23", "10.0.1.0/24", true, true),
        ("10.0.0.0/25", "10.0.0.128/25", false, false),
        ("0.0.0.0/0", "192.168.0.0/16", true, true),
        ("0.0.0.0/0", "::/0", false, false),
        ("2001:db8::/32", "2001:db8:5::/48", true, true),
        ("2001:db8::/48", "2001:db9::/48", false, false),
    ])
    func containsAndOverlapsNetworks(outer: String, inner: String, contains: Bool, overlaps: Bool) {
        let outer = IPNetwork(outer)!
        let inner = IPNetwork(inner)!
        #expect(outer.contains(inner) == contains)
        #expect(outer.overlaps(inner) == overlaps)
        #expect(inner.overlaps(outer) == overlaps)
    }

    @Test func mapsBetweenOffsetsAndAddresses() {
        let network = IPNetwork("10.0.0.0/30")!
        #expect(network.address(atOffset: 0) == IPAddress("10.0.0.0"))
        #expect(network.address(atOffset: 3) == IPAddress("10.0.0.3"))
        #expect(network.address(atOffset: 4) == nil)
        #expect(network.offset(of: IPAddress("10.0.0.2")!) == 2)
        #expect(network.offset(of: IPAddress("10.0.0.4")!) == nil)
        #expect(network.offset(of: IPAddress("::2")!) == nil)

        let everything = IPNetwork("::/0")!
        #expect(everything.address(atOffset: .max) == IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        #expect(everything.offset(of: everything.lastAddress) == .max)
    }
}

@Suite struct InterfaceAddressTests {
    @Test(arguments: [
        ("10.0.0.5/24", "10.0.0.5", 24, "10.0.0.0/24"),
        ("192.168.1.1/32", "192.168.1.1", 32, "192.168.1.1/32"),
        ("fe80::1234/64", "fe80::1234", 64, "fe80::/64"),
    ])
    func keepsTheHostPart(text: String, address: String, prefixLength: Int, network: String) throws {
        let interfaceAddress = try #require(InterfaceAddress(text))
        #expect(interfaceAddress.address == IPAddress(address))
        #expect(interfaceAddress.prefixLength == prefixLength)
        #expect(interfaceAddress.network == IPNetwork(network))
        #expect(interfaceAddress.description == text)
    }

    @Test(arguments: ["10.0.0.5", "10.0.0.5/", "10.0.0.5/33", "::1/129", "/24", "10.0.0.5/x"])
    func rejectsInvalidText(text: String) {
        #expect(InterfaceAddress(text) == nil)
    }

    @Test func rejectsPrefixOutsideFamilyRange() {
        #expect(InterfaceAddress(address: IPAddress("10.0.0.1")!, prefixLength: 33) == nil)
        #expect(InterfaceAddress(address: IPAddress("10.0.0.1")!, prefixLength: -1) == nil)
        #expect(InterfaceAddress(address: IPAddress("10.0.0.1")!, prefixLength: 0)?.network == IPNetwork("0.0.0.0/0"))
    }
}
