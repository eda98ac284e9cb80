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
    private func vxlanPlane(_ netlink: NetlinkHandle, vni: UInt32, clusterSubnet: String) throws -> (Link, OverlayDataPlane) {
        var spec = LinkSpec(name: "swvx\(vni)", kind: .vxlan(VXLANOptions(vni: vni, learning: false)))
        spec.up = true
        try netlink.addLink(spec)
        let device = try #require(try netlink.link(named: "swvx\(vni)"))
        return (device, OverlayDataPlane(mode: .vxlan, clusterSubnet: IPNetwork(clusterSubnet)!, interfaceIndex: device.index))
    }

    @Test func vxlanEntriesFollowThePeersOnEveryAttribute() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let (device, plane) = try vxlanPlane(netlink, vni: 7, clusterSubnet: "10.50.0.0/16")

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
        let (device, plane) = try vxlanPlane(netlink, vni: 8, clusterSubnet: "10.52.0.0/16")
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

    @Test func hostGatewayRoutesGoThroughTheUnderlay() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let underlay = try sandbox.bridge("under0")
        try netlink.addAddress(InterfaceAddress("192.0.2.10/24")!, interfaceIndex: underlay.index, noDAD: true)
        let plane = OverlayDataPlane(mode: .hostGateway, clusterSubnet: IPNetwork("10.51.0.0/16")!, interfaceIndex: underlay.index)
        // A route of somebody else's inside the cluster subnet stays.
        try netlink.addRoute(Route(destination: IPNetwork("10.51.200.0/24")!, gateway: IPAddress("192.0.2.99"), outputInterface: underlay.index))

        try plane.reconcile(netlink, peers: [peer("10.51.1.0/24", "192.0.2.1", "02:00:00:00:00:01")])
        try plane.reconcile(netlink, peers: [peer("10.51.1.0/24", "192.0.2.3", "02:00:00:00:00:01")])
        let routes = try netlink.routes(family: .v4).filter { IPNetwork("10.51.0.0/16")!.contains($0.destination) }
        #expect(Set(routes.map { "\($0.destination) via \($0.gateway!)" }) == ["10.51.1.0/24 via 192.0.2.3", "10.51.200.0/24 via 192.0.2.99"])
        try plane.removeAll(netlink)
        #expect(try netlink.routes(family: .v4).filter { IPNetwork("10.51.0.0/16")!.contains($0.destination) }.count == 1)
    }
}
