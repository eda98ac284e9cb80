import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

@Suite("Addresses and routes against the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct AddressRouteTests {
    /// A sandbox with an up veth "va" (its peer "vb" too, so the link has carrier).
    private func sandboxWithLink() throws -> (Sandbox, Link) {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb", up: true)), up: true))
        return (box, try #require(try box.netlink.link(named: "va")))
    }

    @Test func ipv4AndIPv6Addresses() throws {
        let (box, link) = try sandboxWithLink()
        let v4 = try #require(InterfaceAddress(address: IPAddress("10.1.2.3")!, prefixLength: 24))
        let v6 = try #require(InterfaceAddress(address: IPAddress("fd00:1::5")!, prefixLength: 64))
        try box.netlink.addAddress(v4, interfaceIndex: link.index)
        try box.netlink.addAddress(v6, interfaceIndex: link.index, noDAD: true)

        let v4Entries = try box.netlink.addresses(family: .v4, interfaceIndex: link.index)
        #expect(v4Entries.map(\.address) == [v4])
        #expect(v4Entries.first?.scope == 0)
        let v6Entries = try box.netlink.addresses(family: .v6, interfaceIndex: link.index)
        #expect(v6Entries.contains { $0.address == v6 && $0.flags & 0x02 /* IFA_F_NODAD */ != 0 })
        #expect(try box.netlink.addresses().contains { $0.address == v6 })

        let fromIP = try box.json("-4", "addr", "show", "dev", "va")
        let info = (fromIP.first?["addr_info"] as? [[String: Any]])?.first
        #expect(info?["local"] as? String == "10.1.2.3")
        #expect(info?["broadcast"] as? String == "10.1.2.255")

        let exists = #expect(throws: NetlinkError.self) { try box.netlink.addAddress(v4, interfaceIndex: link.index) }
        #expect(exists?.isExists == true)

        try box.netlink.deleteAddress(v4, interfaceIndex: link.index)
        try box.netlink.deleteAddress(v6, interfaceIndex: link.index)
        #expect(try box.netlink.addresses(family: .v4, interfaceIndex: link.index).isEmpty)
        #expect(!(try box.netlink.addresses(family: .v6, interfaceIndex: link.index).contains { $0.address == v6 }))
        let gone = #expect(throws: NetlinkError.self) { try box.netlink.deleteAddress(v4, interfaceIndex: link.index) }
        #expect(gone?.isNotFound == true)
    }

    @Test func routesOnLinkViaGatewayReplaceDelete() throws {
        let (box, link) = try sandboxWithLink()
        try box.netlink.addAddress(InterfaceAddress(address: IPAddress("10.9.0.2")!, prefixLength: 24)!, interfaceIndex: link.index)

        // A directly connected route: link scope is derived.
        let onLink = Route(destination: IPNetwork("192.168.77.0/24")!, outputInterface: link.index)
        #expect(onLink.scope == 253 /* RT_SCOPE_LINK */)
        try box.netlink.addRoute(onLink)

        let gateway = try #require(IPAddress("10.9.0.1"))
        let defaultRoute = Route.defaultRoute(via: gateway, outputInterface: link.index)
        try box.netlink.addRoute(defaultRoute)
        var routes = try box.netlink.routes(family: .v4)
        #expect(routes.contains(onLink))
        #expect(routes.contains(defaultRoute))
        #expect(routes.contains { $0.destination == IPNetwork("10.9.0.0/24")! && $0.protocol == 2 /* RTPROT_KERNEL */ })
        let fromIP = try box.json("route", "show", "default")
        #expect(fromIP.first?["gateway"] as? String == "10.9.0.1")

        let exists = #expect(throws: NetlinkError.self) { try box.netlink.addRoute(defaultRoute) }
        #expect(exists?.isExists == true)

        // Replace: same destination, gateway outside any subnet but declared on-link.
        let replaced = Route.defaultRoute(via: IPAddress("172.31.0.1")!, outputInterface: link.index, onLink: true)
        try box.netlink.replaceRoute(replaced)
        routes = try box.netlink.routes(family: .v4)
        #expect(routes.contains(replaced))
        #expect(!routes.contains(defaultRoute))

        try box.netlink.deleteRoute(replaced)
        try box.netlink.deleteRoute(onLink)
        routes = try box.netlink.routes(family: .v4)
        #expect(!routes.contains { $0.destination.prefixLength == 0 || $0 == onLink })
        let gone = #expect(throws: NetlinkError.self) { try box.netlink.deleteRoute(onLink) }
        #expect(gone?.isNotFound == true)

        #expect(try box.netlink.routes(family: .v4, table: 4242).isEmpty)
    }

    @Test func ipv6DefaultRouteAndOtherTables() throws {
        let (box, link) = try sandboxWithLink()
        try box.netlink.addAddress(InterfaceAddress(address: IPAddress("fd00:9::2")!, prefixLength: 64)!,
                                   interfaceIndex: link.index, noDAD: true)
        let route = Route.defaultRoute(via: IPAddress("fd00:9::1")!, outputInterface: link.index, table: 1000, metric: 50)
        try box.netlink.addRoute(route)
        let routes = try box.netlink.routes(family: .v6, table: 1000)
        #expect(routes == [route])
        #expect(!(try box.netlink.routes(family: .v6)).contains(route))
        try box.netlink.deleteRoute(route)
        #expect(try box.netlink.routes(family: .v6, table: 1000).isEmpty)
    }

    @Test func unreachableGatewayExplainsItself() throws {
        let (box, link) = try sandboxWithLink()
        let error = #expect(throws: NetlinkError.self) {
            try box.netlink.addRoute(Route.defaultRoute(via: IPAddress("203.0.113.1")!, outputInterface: link.index))
        }
        #expect(error?.errno == ENETUNREACH)
        #expect(error?.extendedAck?.isEmpty == false)
        #expect(error?.description.contains("(\(error?.extendedAck ?? "-"))") == true)
    }
}
