import IPAM
import Netlink
import Testing
@testable import SwnetCore
@testable import SwnetOverlay

@Suite("Overlay data plane against the real kernel", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct OverlayDataPlaneTests {
    private func peer(_ subnet: String, _ underlay: String, _ mac: String) -> OverlayHost {
        OverlayHost(subnet: IPNetwork(subnet)!, underlayIP: IPAddress(underlay)!, vtepMAC: MACAddress(mac), hostID: subnet, hostname: "")
    }

    /// An up VXLAN device swvxVNI and the data plane of an overlay through it.
    private func vxlanPlane(_ netlink: NetlinkHandle, vni: UInt32, clusterSubnets: String...) throws -> (Link, OverlayDataPlane) {
        var spec = LinkSpec(name: "swvx\(vni)", kind: .vxlan(VXLANOptions(vni: vni, learning: false)))
        spec.up = true
        try netlink.addLink(spec)
        let device = try #require(try netlink.link(named: "swvx\(vni)"))
        return (device, OverlayDataPlane(mode: .vxlan, clusterSubnets: clusterSubnets.map { IPNetwork($0)! }, interfaceIndex: device.index))
    }

    /// A bridge under0 with `address` standing in for the underlay, and a host-gw data plane through it.
    private func hostGatewayPlane(_ sandbox: Sandbox, address: String, clusterSubnets: [String]) throws
        -> (NetlinkHandle, Link, OverlayDataPlane) {
        let netlink = try sandbox.hostNetlink()
        let underlay = try sandbox.bridge("under0")
        try netlink.addAddress(InterfaceAddress(address)!, interfaceIndex: underlay.index, noDAD: true)
        return (netlink, underlay, OverlayDataPlane(mode: .hostGateway, clusterSubnets: clusterSubnets.map { IPNetwork($0)! },
                                                    interfaceIndex: underlay.index))
    }

    @Test func vxlanEntriesFollowThePeersOnEveryAttribute() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let (device, plane) = try vxlanPlane(netlink, vni: 7, clusterSubnets: "10.50.0.0/16")

        var peers = [peer("10.50.1.0/24", "192.0.2.1", "02:00:00:00:00:01"), peer("10.50.2.0/24", "192.0.2.2", "02:00:00:00:00:02")]
        let first = try plane.reconcile(netlink, peers: peers)
        #expect(first.added.count == 8 && first.removed.isEmpty)
        #expect(try plane.current(netlink) == plane.desired(for: peers))
        let route = try #require(try netlink.routes(family: .v4).first { $0.destination == IPNetwork("10.50.1.0/24") })
        #expect(route.gateway == IPAddress("10.50.1.1") && route.onLink && route.outputInterface == device.index)
        // Through a nexthop object named after the peer's subnet.
        #expect(route.nexthopID == OverlayDataPlane.nexthopID(of: IPNetwork("10.50.1.0/24")!))
        #expect(try netlink.nexthops(interfaceIndex: device.index).map(\.gateway) .sorted { "\($0!)" < "\($1!)" }
                == [IPAddress("10.50.1.1"), IPAddress("10.50.2.1")])
        // Nothing to do the second time.
        #expect(try plane.reconcile(netlink, peers: peers).added.isEmpty)

        // Peer 2 moved to another underlay address and got another MAC (its nexthop and route
        // stay); peer 1 left.
        peers = [peer("10.50.2.0/24", "192.0.2.22", "02:00:00:00:00:22")]
        let second = try plane.reconcile(netlink, peers: peers)
        #expect(second.removed.count == 6 && second.added.count == 2)
        #expect(try plane.current(netlink) == plane.desired(for: peers))
        #expect(try netlink.fdb(interfaceIndex: device.index).filter { $0.destination != nil }.map(\.destination) == [IPAddress("192.0.2.22")])

        try plane.removeAll(netlink)
        #expect(try plane.current(netlink).isEmpty)
    }

    @Test func anUpdateWritesOnlyWhatChangedAndLeavesTheOtherPeers() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let (device, plane) = try vxlanPlane(netlink, vni: 8, clusterSubnets: "10.52.0.0/16")
        let one = peer("10.52.1.0/24", "192.0.2.1", "02:00:00:00:00:01")
        let two = peer("10.52.2.0/24", "192.0.2.2", "02:00:00:00:00:02")
        try plane.reconcile(netlink, peers: [one, two])

        // Peer 2 moved to another underlay address (same MAC): only its FDB entry changes.
        let moved = peer("10.52.2.0/24", "192.0.2.22", "02:00:00:00:00:02")
        let three = peer("10.52.3.0/24", "192.0.2.3", "02:00:00:00:00:03")
        let first = try plane.update(netlink, changes: [.init(before: two, after: moved), .init(before: nil, after: three)])
        #expect(first.removed.descriptions == ["fdb 02:00:00:00:00:02 dst 192.0.2.2"])
        #expect(first.added.count == 5)
        #expect(try plane.current(netlink) == plane.desired(for: [one, moved, three]))

        let second = try plane.update(netlink, changes: [.init(before: one, after: nil)])
        #expect(second.removed.count == 4 && second.added.isEmpty)
        #expect(try plane.current(netlink) == plane.desired(for: [moved, three]))
    }

    @Test func dualStackPeersGetAnIPv6RouteThroughTheSameVTEP() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let (device, plane) = try vxlanPlane(netlink, vni: 9, clusterSubnets: "10.53.0.0/16", "fd53::/48")
        var dual = peer("10.53.1.0/24", "192.0.2.1", "02:00:00:00:00:01")
        dual.subnet6 = IPNetwork("fd53:0:0:1::/64")
        // Registered before dual stack: IPv4 only.
        let old = peer("10.53.2.0/24", "192.0.2.2", "02:00:00:00:00:02")
        let first = try plane.reconcile(netlink, peers: [dual, old])
        #expect(first.added.count == 11 && first.removed.isEmpty)
        #expect(try plane.current(netlink) == plane.desired(for: [dual, old]))
        let route = try #require(try netlink.routes(family: .v6).first { $0.destination == IPNetwork("fd53:0:0:1::/64") })
        #expect(route.gateway == IPAddress("fd53:0:0:1::1") && route.onLink && route.outputInterface == device.index)
        #expect(route.nexthopID == OverlayDataPlane.nexthopID(of: IPNetwork("10.53.1.0/24")!) + 1)
        let neighbor = try #require(try netlink.neighbors(family: .v6, interfaceIndex: device.index).first { $0.isPermanent })
        #expect(neighbor.address == IPAddress("fd53:0:0:1::1") && neighbor.mac == MACAddress("02:00:00:00:00:01"))
        #expect(try plane.reconcile(netlink, peers: [dual, old]).added.isEmpty)

        // The old peer upgrades and the dual-stack one leaves: the IPv6 entries follow.
        var upgraded = old
        upgraded.subnet6 = IPNetwork("fd53:0:0:2::/64")
        let second = try plane.update(netlink, changes: [.init(before: old, after: upgraded), .init(before: dual, after: nil)])
        #expect(second.added.count == 3 && second.removed.count == 7)
        #expect(try plane.current(netlink) == plane.desired(for: [upgraded]))
        #expect(try netlink.routes(family: .v6).filter { IPNetwork("fd53::/48")!.contains($0.destination) }.map(\.destination)
                == [IPNetwork("fd53:0:0:2::/64")])
        try plane.removeAll(netlink)
        #expect(try plane.current(netlink).isEmpty)
    }

    @Test func aNexthopIdHeldByAnotherProgramIsLeftToItAndThePeerReportedBlocked() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let (device, plane) = try vxlanPlane(netlink, vni: 10, clusterSubnets: "10.56.0.0/16")
        let taken = peer("10.56.1.0/24", "192.0.2.1", "02:00:00:00:00:01")
        let free = peer("10.56.2.0/24", "192.0.2.2", "02:00:00:00:00:02")
        let foreign = Nexthop(id: OverlayDataPlane.nexthopID(of: taken.subnet), gateway: IPAddress("10.99.0.1"),
                              interfaceIndex: device.index, onLink: true)
        try netlink.replaceNexthop(foreign)

        // The incremental path (the id looked up) and the full comparison (found in a dump) alike.
        let update = try plane.update(netlink, changes: [.init(before: nil, after: taken), .init(before: nil, after: free)])
        #expect(update.blocked == [taken.subnet])
        let reconcile = try plane.reconcile(netlink, peers: [taken, free])
        #expect(reconcile.blocked == [taken.subnet] && reconcile.added.isEmpty && reconcile.removed.isEmpty)
        #expect(try netlink.nexthops(ids: [foreign.id]) == [foreign])
        let routes = try netlink.routes(family: .v4).filter { IPNetwork("10.56.0.0/16")!.contains($0.destination) }
        #expect(routes.map(\.destination) == [free.subnet])
        #expect(try plane.current(netlink) == plane.desired(for: [taken, free], blocked: [foreign.id]))
    }

    @Test func hostGatewayRoutesGoThroughTheUnderlay() throws {
        let sandbox = try Sandbox()
        let (netlink, underlay, plane) = try hostGatewayPlane(sandbox, address: "192.0.2.10/24", clusterSubnets: ["10.51.0.0/16"])
        // A route of somebody else's inside the cluster subnet stays.
        try netlink.addRoute(Route(destination: IPNetwork("10.51.200.0/24")!, gateway: IPAddress("192.0.2.99"), outputInterface: underlay.index))

        try plane.reconcile(netlink, peers: [peer("10.51.1.0/24", "192.0.2.1", "02:00:00:00:00:01")])
        try plane.reconcile(netlink, peers: [peer("10.51.1.0/24", "192.0.2.3", "02:00:00:00:00:01")])
        let routes = try netlink.routes(family: .v4).filter { IPNetwork("10.51.0.0/16")!.contains($0.destination) }
        #expect(Set(routes.map { "\($0.destination) via \($0.gateway!)" }) == ["10.51.1.0/24 via 192.0.2.3", "10.51.200.0/24 via 192.0.2.99"])
        try plane.removeAll(netlink)
        #expect(try netlink.routes(family: .v4).filter { IPNetwork("10.51.0.0/16")!.contains($0.destination) }.count == 1)
    }

    @Test func overAnIPv6UnderlayBothFamiliesRouteViaThePeersIPv6Address() throws {
        let sandbox = try Sandbox()
        let (netlink, _, plane) = try hostGatewayPlane(sandbox, address: "fd00:200::10/64", clusterSubnets: ["10.55.0.0/16", "fd55::/48"])
        let host = OverlayHost(subnet: IPNetwork("10.55.1.0/24")!, subnet6: IPNetwork("fd55:0:0:1::/64"), underlayIP: IPAddress("fd00:200::1")!,
                               vtepMAC: nil, hostID: "h1", hostname: "")
        try plane.reconcile(netlink, peers: [host])
        // The IPv4 route's IPv6 next hop comes back as RTA_VIA: read, it matches what is wanted.
        #expect(try plane.current(netlink) == plane.desired(for: [host]))
        #expect(try plane.reconcile(netlink, peers: [host]).added.isEmpty)
        let route4 = try #require(try netlink.routes(family: .v4).first { $0.destination == IPNetwork("10.55.1.0/24") })
        let route6 = try #require(try netlink.routes(family: .v6).first { $0.destination == IPNetwork("fd55:0:0:1::/64") })
        #expect(route4.gateway == IPAddress("fd00:200::1") && route6.gateway == IPAddress("fd00:200::1") && !route6.onLink)
        try plane.removeAll(netlink)
        #expect(try plane.current(netlink).isEmpty)
    }

    @Test func hostGatewayIPv6RoutesResolveToThePeersUnderlayMAC() throws {
        let sandbox = try Sandbox()
        let (netlink, underlay, plane) = try hostGatewayPlane(sandbox, address: "192.0.2.10/24", clusterSubnets: ["10.54.0.0/16", "fd54::/48"])
        var host = OverlayHost(subnet: IPNetwork("10.54.1.0/24")!, subnet6: IPNetwork("fd54:0:0:1::/64"), underlayIP: IPAddress("192.0.2.1")!,
                               vtepMAC: nil, underlayMAC: MACAddress("02:00:00:00:00:11"), hostID: "h1", hostname: "")
        try plane.reconcile(netlink, peers: [host])
        #expect(try plane.current(netlink) == plane.desired(for: [host]))
        let route = try #require(try netlink.routes(family: .v6).first { $0.destination == IPNetwork("fd54:0:0:1::/64") })
        #expect(route.gateway == IPAddress("fd54:0:0:1::1") && route.outputInterface == underlay.index)
        // A new underlay MAC (another NIC): only the neighbour changes.
        host.underlayMAC = MACAddress("02:00:00:00:00:12")
        let changed = try plane.reconcile(netlink, peers: [host])
        #expect(changed.added.descriptions == ["neighbour fd54:0:0:1::1 lladdr 02:00:00:00:00:12"] && changed.removed.count == 1)
        try plane.removeAll(netlink)
        #expect(try plane.current(netlink).isEmpty)
    }
}
