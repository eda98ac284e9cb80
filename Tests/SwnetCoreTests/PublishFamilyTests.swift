import IPAM
import Netlink
import NFTables
import Testing
@testable import SwnetCore

/// Publishing per address family: which map each publication lands in, and which ports
/// conflict (families are independent, as Docker's 0.0.0.0 and [::] sockets are).
@Suite struct PublishMapTests {
    static func publication(_ host: String, _ port: UInt16, to container: String, _ portProtocol: PortProtocol = .tcp) -> Publication {
        Publication(hostAddress: IPAddress(host)!, hostPort: port, portProtocol: portProtocol, containerAddress: IPAddress(container)!,
                    containerPort: 80, network: "n", namespaceID: NamespaceIdentity(device: 1, inode: 2), target: "t")
    }

    @Test func eachFamilyAndScopeHasItsMap() {
        let elements = PublishMaps.elements(for: [
            Self.publication("0.0.0.0", 8080, to: "10.0.0.5"),
            Self.publication("::", 8080, to: "fd00::5"),
            Self.publication("2001:db8::1", 9000, to: "fd00::5", .udp),
            Self.publication("192.0.2.1", 9000, to: "10.0.0.5"),
            Self.publication("::", 8081, to: "fd00::6"),
        ])
        let v4 = IPv4Address("10.0.0.5")!, v6 = IPv6Address("fd00::5")!
        #expect(elements.map(\.map) == ["publish_address", "publish_address6", "publish_any", "publish_any6"])
        #expect(elements.map(\.elements) == [
            [SetElement([.ipv4(IPv4Address("192.0.2.1")!), .l4Protocol(.tcp), .port(9000)], maps: [.ipv4(v4), .port(80)])],
            [SetElement([.ipv6(IPv6Address("2001:db8::1")!), .l4Protocol(.udp), .port(9000)], maps: [.ipv6(v6), .port(80)])],
            [SetElement([.l4Protocol(.tcp), .port(8080)], maps: [.ipv4(v4), .port(80)])],
            [SetElement([.l4Protocol(.tcp), .port(8080)], maps: [.ipv6(v6), .port(80)]),
             SetElement([.l4Protocol(.tcp), .port(8081)], maps: [.ipv6(IPv6Address("fd00::6")!), .port(80)])],
        ])
    }

    @Test func anIPv6ElementIsTheKernelsLayout() {
        // ipv6_addr . inet_proto . inet_service: 16 bytes, then each field padded to 4.
        let element = PublishMaps.elements(for: [Self.publication("2001:db8::1", 8080, to: "fd00::5")])[0].elements[0]
        #expect(element.key == IPv6Address("2001:db8::1")!.bytes + [6, 0, 0, 0, 0x1f, 0x90, 0, 0])
        #expect(element.value == .data(IPv6Address("fd00::5")!.bytes + [0, 80, 0, 0]))
    }

    @Test func clashesStayWithinAFamily() {
        var chosen = ChosenPorts()
        chosen.add(Self.publication("0.0.0.0", 8080, to: "10.0.0.5"))
        chosen.add(Self.publication("2001:db8::1", 9000, to: "fd00::5"))
        #expect(chosen.clash(.tcp, 8080, IPAddress("::")!) == nil)
        #expect(chosen.clash(.tcp, 8080, IPAddress("192.0.2.1")!) != nil)
        #expect(chosen.clash(.udp, 8080, IPAddress("192.0.2.1")!) == nil)
        #expect(chosen.clash(.tcp, 9000, IPAddress("::")!) != nil)
        #expect(chosen.clash(.tcp, 9000, IPAddress("2001:db8::2")!) == nil)
        #expect(chosen.clash(.tcp, 9000, IPAddress("0.0.0.0")!) == nil)
    }
}

@Suite("Publishing on IPv6: maps and conflicts in a sandbox", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct PublishFamilyTests {
    @Test func familiesAreIndependentAndConflictWithin() throws {
        let sandbox = try Sandbox()
        let swnet = sandbox.swnet
        try swnet.createNetwork(NetworkRequest(name: "four", subnet: IPNetwork("10.90.0.0/24")!))
        try swnet.createNetwork(NetworkRequest(name: "six", subnet: IPNetwork("fd00:90::/64")!))
        let a = try sandbox.container(), b = try sandbox.container(), c = try sandbox.container()
        try swnet.attach(AttachRequest(target: a.path, network: "four", address: InterfaceAddress("10.90.0.5/24")))
        try swnet.attach(AttachRequest(target: b.path, network: "six", address: InterfaceAddress("fd00:90::5/64")))
        try swnet.attach(AttachRequest(target: c.path, network: "six", address: InterfaceAddress("fd00:90::6/64")))

        #expect(try swnet.publish(a.path, specs: [PortSpec(parsing: "8080:80")]).map(\.hostDescription) == ["0.0.0.0:8080/tcp"])
        #expect(try swnet.publish(b.path, specs: [PortSpec(parsing: "8080:80")]).map(\.hostDescription) == ["[::]:8080/tcp"])
        let taken = #expect(throws: SwnetError.self) { try swnet.publish(c.path, specs: [PortSpec(parsing: "[fd00:90::1]:8080:80")]) }
        #expect(taken == .portPublished(port: "[fd00:90::1]:8080/tcp", holder: b.path))
        let noIPv4 = #expect(throws: SwnetError.self) { try swnet.publish(c.path, specs: [PortSpec(parsing: "0.0.0.0:9000:80")]) }
        #expect(noIPv4?.message.contains("has no IPv4 address on six") == true)
        try swnet.publish(c.path, specs: [PortSpec(parsing: "[fd00:90::1]:9000:80/udp")])
        #expect(throws: SwnetError.self) { try swnet.publish(b.path, specs: [PortSpec(parsing: "[::]:9000:80/udp")]) }

        let firewall = try swnet.firewall()
        let six = IPv6Address("fd00:90::5")!
        #expect(try firewall.elements(of: "publish_any6", in: FirewallLayout.table)
                == [SetElement([.l4Protocol(.tcp), .port(8080)], maps: [.ipv6(six), .port(80)])])
        #expect(try firewall.elements(of: "publish_address6", in: FirewallLayout.table).count == 1)
        #expect(try firewall.elements(of: "publish_any", in: FirewallLayout.table).count == 1)

        try swnet.unpublish(b.path, specs: [])
        try swnet.unpublish(c.path, specs: [PortSpec(parsing: "[fd00:90::1]:9000:80/udp")])
        #expect(try firewall.elements(of: "publish_any6", in: FirewallLayout.table).isEmpty)
        #expect(try firewall.elements(of: "publish_address6", in: FirewallLayout.table).isEmpty)
    }
}
