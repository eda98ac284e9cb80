import IPAM
@testable import Netlink
import SwnetTestSupport
import Testing

/// Nexthop objects: the wire format by hand, then against the kernel and `ip nexthop`.
@Suite("Nexthop objects")
struct NexthopTests {
    @Test func onLinkNexthopAndARouteNamingIt() {
        let nexthop = Nexthop(id: 170_394_112, gateway: IPAddress("10.40.2.1"), interfaceIndex: 7, onLink: true, protocol: 83)
        let expected = message(
            type: 104, flags: Wire.request | Wire.create | Wire.replace | Wire.ack,   // RTM_NEWNEXTHOP
            [2, 0, 83, 0] + le32(4),                                    // nhmsg: AF_INET, scope, protocol 83, RTNH_F_ONLINK
            attribute(1, u32: 170_394_112),                             // NHA_ID
            attribute(5, u32: 7),                                       // NHA_OIF
            attribute(6, [10, 40, 2, 1]))                               // NHA_GATEWAY
        #expect(NexthopMessage.add(nexthop, replace: true).bytes == expected)
        #expect(NexthopMessage.delete(id: 9).bytes == message(type: 105, flags: Wire.request | Wire.ack, [0, 0, 0, 0] + le32(0),
                                                               attribute(1, u32: 9)))

        let route = Route(destination: IPNetwork("10.40.2.0/24")!, protocol: 83, nexthopID: 170_394_112)
        let expectedRoute = message(
            type: Wire.newRoute, flags: Wire.request | Wire.create | Wire.replace | Wire.ack,
            [2, 24, 0, 0, 254, 83, 0, 1] + le32(0),                     // universe scope: the nexthop has the gateway
            attribute(15, u32: 254),                                    // RTA_TABLE
            attribute(1, [10, 40, 2, 0]),                               // RTA_DST
            attribute(30, u32: 170_394_112))                            // RTA_NH_ID
        #expect(RouteMessage.add(route, replace: true).bytes == expectedRoute)
    }

    @Test(.enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
    func routesFollowAReplacedNexthopAndGoWithADeletedOne() throws {
        let box = try Sandbox()
        // Without a local table (lo down) the kernel calls every on-link gateway invalid.
        let loopback = try #require(try box.netlink.link(named: "lo"))
        try box.netlink.setLink(index: loopback.index, LinkChanges(up: true))
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb", up: true)), up: true))
        let link = try #require(try box.netlink.link(named: "va"))
        try box.netlink.replaceNexthop(Nexthop(id: 77, gateway: IPAddress("172.31.0.1"), interfaceIndex: link.index, onLink: true, protocol: 83))
        try box.netlink.replaceRoute(Route(destination: IPNetwork("10.77.0.0/24")!, protocol: 83, nexthopID: 77))
        #expect(try box.netlink.nexthops(interfaceIndex: link.index)
                == [Nexthop(id: 77, gateway: IPAddress("172.31.0.1"), interfaceIndex: link.index, onLink: true, protocol: 83)])
        #expect(try box.run("ip", "nexthop", "show", "id", "77").contains("via 172.31.0.1 dev va"))

        // A dump reports the nexthop's gateway and device on the route.
        var route = try #require(try box.netlink.routes(family: .v4, protocol: 83).first)
        #expect(route.nexthopID == 77 && route.gateway == IPAddress("172.31.0.1") && route.outputInterface == link.index)

        try box.netlink.replaceNexthop(Nexthop(id: 77, gateway: IPAddress("172.31.0.9"), interfaceIndex: link.index, onLink: true, protocol: 83))
        route = try #require(try box.netlink.routes(family: .v4, protocol: 83).first)
        #expect(route.gateway == IPAddress("172.31.0.9"))

        try box.netlink.execute(.deleteNexthop(id: 77))
        #expect(try box.netlink.routes(family: .v4, protocol: 83).isEmpty)
        #expect(try box.netlink.nexthops(interfaceIndex: link.index).isEmpty)
    }
}
