import IPAM
import Testing

@Suite struct IPv4AddressTests {
    @Test(arguments: [
        ("0.0.0.0", UInt32(0)),
        ("10.0.0.1", 0x0A00_0001),
        ("192.168.100.254", 0xC0A8_64FE),
        ("255.255.255.255", 0xFFFF_FFFF),
        ("1.0.0.0", 0x0100_0000),
    ])
    func parsesAndFormats(text: String, value: UInt32) {
        #expect(IPv4Address(text)?.value == value)
        #expect(IPv4Address(value).description == text)
    }

    @Test(arguments: [
        "", "1", "1.2.3", "1.2.3.4.5", "256.0.0.0", "1.2.3.256", "1..3.4", ".1.2.3", "1.2.3.4.",
        "010.0.0.1", "1.2.3.04", "00.0.0.0", "+1.2.3.4", "1.2.3.+4", "-1.2.3.4", " 1.2.3.4", "1.2.3.4 ",
        "1.2.3.a", "0x1.2.3.4", "1000.2.3.4", "1.2.3.4/24", "::1", "١.٢.٣.٤",
    ])
    func rejectsInvalidText(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func convertsBytesInNetworkOrder() {
        let address = IPv4Address(0xC0A8_0001)
        #expect(address.bytes == [192, 168, 0, 1])
        #expect(IPv4Address(bytes: [192, 168, 0, 1]) == address)
        #expect(IPv4Address(bytes: [1, 2, 3]) == nil)
        #expect(IPv4Address(bytes: [1, 2, 3, 4, 5]) == nil)
    }

    @Test func ordersNumerically() {
        #expect(IPv4Address("9.255.255.255")! < IPv4Address("10.0.0.0")!)
        #expect(IPv4Address("10.0.0.2")! < IPv4Address("10.0.0.10")!)
    }
}

@Suite struct IPv6AddressTests {
    @Test(arguments: [
        // Canonical forms print back unchanged.
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1:2", "fe80::1:2"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        // RFC 5952 4.1: leading zeros dropped; 4.3: lowercase.
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:Db8::aBcD", "2001:db8::abcd"),
        // 4.2.1: the longest run is compressed.
        ("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"),
        // 4.2.2: a single zero group is not compressed.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // 4.2.3: the first of two equally long runs is compressed.
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"),
        // "::" may stand for a single group on input.
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1:2:3::5:6:7:8", "1:2:3:0:5:6:7:8"),
        // Embedded IPv4; only IPv4-mapped addresses print with a dotted quad (RFC 5952 5).
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::FFFF:0102:0304", "::ffff:1.2.3.4"),
        ("::1.2.3.4", "::102:304"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ])
    func parsesAndFormatsCanonically(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "1:::2", "1::2::3", "::1::", ":1::", "1::2:", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:",
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "12345::", "g::", "1:2:3:4:5:6:7:-8",
        "fe80::1%eth0", "fe80::1%1", "::ffff:1.2.3", "::ffff:1.2.3.256", "::ffff:01.2.3.4", "1.2.3.4::",
        "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", " ::1", "::1 ", "[::1]", "::1/64", "0x1::",
    ])
    func rejectsInvalidText(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func convertsBytesInNetworkOrder() throws {
        let address = try #require(IPv6Address("2001:db8::ff01"))
        let bytes: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x01]
        #expect(address.bytes == bytes)
        #expect(IPv6Address(bytes: bytes) == address)
        #expect(IPv6Address(bytes: bytes.dropLast()) == nil)
    }

    @Test(arguments: [
        ("fe80::1", true), ("febf:ffff::1", true), ("fec0::1", false), ("fe7f::1", false), ("2001:db8::1", false),
    ])
    func detectsLinkLocal(text: String, isLinkLocal: Bool) {
        #expect(IPv6Address(text)?.isLinkLocal == isLinkLocal)
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.1.2.3", IPFamily.v4), ("::1", .v6), ("::ffff:10.1.2.3", .v6),
    ])
    func parsesEitherFamily(text: String, family: IPFamily) throws {
        let address = try #require(IPAddress(text))
        #expect(address.family == family)
        #expect(address.description == text)
        #expect(IPAddress(bytes: address.bytes) == address)
    }

    @Test(arguments: ["", "10.0.0", "10.0.0.1:80", "fe80::1%eth0", "localhost"])
    func rejectsInvalidText(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func acceptsOnlyFourOrSixteenBytes() {
        #expect(IPAddress(bytes: [127, 0, 0, 1]) == IPAddress("127.0.0.1"))
        #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPAddress(bytes: []) == nil)
    }

    @Test func ordersIPv4BeforeIPv6() {
        #expect(IPAddress("255.255.255.255")! < IPAddress("::")!)
        #expect(IPAddress("::1")! < IPAddress("::2")!)
    }

    @Test(arguments: [
        ("10.0.0.255", UInt128(1), "10.0.1.0"),
        ("10.0.0.0", 0, "10.0.0.0"),
        ("0.0.0.0", UInt128(UInt32.max), "255.255.255.255"),
        ("::", UInt128.max, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff", 1, "::1:0"),
    ])
    func advances(start: String, offset: UInt128, expected: String) {
        #expect(IPAddress(start)!.advanced(by: offset) == IPAddress(expected))
        #expect(IPAddress(start)!.distance(to: IPAddress(expected)!) == offset)
    }

    @Test(arguments: [
        ("255.255.255.255", UInt128(1)),
        ("0.0.0.1", UInt128(UInt32.max)),
        ("0.0.0.0", UInt128(UInt32.max) + 1),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1),
        ("::1", UInt128.max),
    ])
    func returnsNilPastTheFamilysLastAddress(start: String, offset: UInt128) {
        #expect(IPAddress(start)!.advanced(by: offset) == nil)
    }

    @Test func distanceIsNilBackwardsOrAcrossFamilies() {
        #expect(IPAddress("10.0.0.2")!.distance(to: IPAddress("10.0.0.1")!) == nil)
        #expect(IPAddress("0.0.0.1")!.distance(to: IPAddress("::2")!) == nil)
    }
}
