import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

@Suite("Route lookups, change notifications and offloads against the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct LookupAndMonitorTests {
    private func sandboxWithAddress() throws -> (Sandbox, Link) {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb", up: true)), up: true))
        let link = try #require(try box.netlink.link(named: "va"))
        try box.netlink.addAddress(InterfaceAddress("192.0.2.10/24")!, interfaceIndex: link.index, noDAD: true)
        return (box, link)
    }

    @Test func looksUpTheRouteToAnAddress() throws {
        let (box, link) = try sandboxWithAddress()
        let onLink = try #require(try box.netlink.lookupRoute(to: IPAddress("192.0.2.77")!))
        #expect(onLink.interfaceIndex == link.index && onLink.source == IPAddress("192.0.2.10") && !onLink.isLocal)
        let local = try #require(try box.netlink.lookupRoute(to: IPAddress("192.0.2.10")!))
        #expect(local.isLocal)
        // No default route in a fresh namespace: nowhere to go.
        #expect(try box.netlink.lookupRoute(to: IPAddress("198.51.100.1")!) == nil)
    }

    @Test func monitorReportsAnAddressChange() throws {
        let (box, link) = try sandboxWithAddress()
        let monitor = try NetlinkMonitor(namespace: box.namespace)
        #expect(!monitor.drain())
        // Links come and go with every attach: they do not wake it.
        try box.netlink.addLink(LinkSpec(name: "vc", kind: .veth(peer: VethPeer(name: "vd")), up: true))
        #expect(!monitor.drain())
        try box.netlink.addAddress(InterfaceAddress("192.0.2.11/24")!, interfaceIndex: link.index, noDAD: true)
        var descriptor = pollfd(fd: monitor.fileDescriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&descriptor, 1, 1000) == 1)
        #expect(monitor.drain())
        #expect(!monitor.drain())
    }

    @Test func listsTheRoutesOfOneProtocol() throws {
        let (box, link) = try sandboxWithAddress()
        try box.netlink.addRoute(Route(destination: IPNetwork("10.70.1.0/24")!, gateway: IPAddress("192.0.2.1"),
                                       outputInterface: link.index, protocol: 83))
        try box.netlink.addRoute(Route(destination: IPNetwork("10.70.2.0/24")!, gateway: IPAddress("192.0.2.1"),
                                       outputInterface: link.index))
        #expect(try box.netlink.routes(family: .v4, protocol: 83).map(\.destination) == [IPNetwork("10.70.1.0/24")!])
        #expect(try box.netlink.routes(family: .v4).count == 3)  // with the subnet's own route
    }

    @Test func transmitChecksumOffloadOff() throws {
        let (box, _) = try sandboxWithAddress()
        try box.netlink.setTransmitChecksumOffload(named: "va", enabled: false)
        #expect(try box.run("ethtool", "-k", "va").contains("tx-checksumming: off"))
        try box.netlink.setTransmitChecksumOffload(named: "va", enabled: true)
        #expect(try box.run("ethtool", "-k", "va").contains("tx-checksumming: on"))
        #expect(throws: NetlinkError.self) { try box.netlink.setTransmitChecksumOffload(named: "nosuch0", enabled: false) }
    }
}
