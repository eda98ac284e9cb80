import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

@Suite("Per-device IPv4/IPv6 settings and carrier", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct DeviceSettingsTests {
    @Test func arpNotifyAndAddressGenerationModeAreSetThroughNetlink() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb"))))
        let link = try #require(try box.netlink.link(named: "va"))
        try box.netlink.setLink(index: link.index, LinkChanges(arpNotify: true, ipv6AddressGeneration: IPv6AddressGeneration.none))
        #expect(try box.run("cat", "/proc/sys/net/ipv4/conf/va/arp_notify") == "1\n")
        #expect(try box.run("ip", "-d", "link", "show", "va").contains("addrgenmode none"))
        try box.netlink.setLink(index: link.index, LinkChanges(arpNotify: false))
        #expect(try box.run("cat", "/proc/sys/net/ipv4/conf/va/arp_notify") == "0\n")
    }

    @Test func synchronizingCarrierEnablesTheBridgePortAtOnce() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge(), up: true))
        let bridge = try #require(try box.netlink.link(named: "br0"))
        try box.netlink.addLink(LinkSpec(name: "port", kind: .veth(peer: VethPeer(name: "peer")), masterIndex: bridge.index, up: true))
        #expect(try box.netlink.synchronizeCarrier(named: "port") == false)
        var batch = NetlinkBatch()
        batch.setLink(named: "peer", LinkChanges(up: true))
        try box.netlink.execute(batch)
        #expect(try box.netlink.synchronizeCarrier(named: "port") == true)
        #expect(try box.run("bridge", "link", "show", "dev", "port").contains("state forwarding"))
        #expect(throws: NetlinkError.self) { try box.netlink.synchronizeCarrier(named: "missing") }
    }
}
