import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

@Suite("Links against the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct LinkTests {
    @Test func bridgeCreateGetListDelete() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge(), mtu: 1400, up: true))
        let bridge = try #require(try box.netlink.link(named: "br0"))
        #expect(bridge.kind == .bridge)
        #expect(bridge.mtu == 1400)
        #expect(bridge.isUp)
        #expect(bridge.mac != nil)
        #expect(try box.netlink.link(index: bridge.index)?.name == "br0")
        let names = try box.netlink.links().map(\.name)
        #expect(Set(names) == ["lo", "br0"])
        let fromIP = try box.json("link", "show", "br0")
        #expect(fromIP.first?["mtu"] as? Int == 1400)
        #expect(fromIP.first?["address"] as? String == bridge.mac?.description)

        try box.netlink.deleteLink(index: bridge.index)
        #expect(try box.netlink.link(named: "br0") == nil)
    }

    @Test func vethIntoContainerWithEverythingSet() throws {
        let host = try Sandbox()
        let container = try Sandbox()
        try host.netlink.addLink(LinkSpec(name: "br0", kind: .bridge(), up: true))
        let bridge = try #require(try host.netlink.link(named: "br0"))
        let peerMAC = try #require(MACAddress("02:42:ac:11:00:02"))
        let hostMAC = MACAddress.random()

        try host.netlink.addLink(LinkSpec(
            name: "veth1234", kind: .veth(peer: VethPeer(name: "eth0", mac: peerMAC, mtu: 1450,
                                                          namespace: container.namespace, up: true)),
            mtu: 1450, mac: hostMAC, masterIndex: bridge.index, up: true))

        let hostSide = try #require(try host.netlink.link(named: "veth1234"))
        #expect(hostSide.kind == .veth)
        #expect(hostSide.masterIndex == bridge.index)
        #expect(hostSide.mtu == 1450)
        #expect(hostSide.mac == hostMAC)
        #expect(hostSide.isUp)
        #expect(hostSide.linkNetnsID != nil)

        let peer = try #require(try container.netlink.link(named: "eth0"))
        #expect(peer.kind == .veth)
        #expect(peer.mac == peerMAC)
        #expect(peer.mtu == 1450)
        #expect(peer.isUp)
        #expect(peer.masterIndex == nil)
        #expect(hostSide.linkIndex == peer.index)
        #expect(peer.linkIndex == hostSide.index)
        #expect(try host.netlink.link(named: "eth0") == nil)
    }

    /// The attach path: one request on the host (peer created in the container with its
    /// name, MAC and MTU; host side enslaved, sized and up), then one lookup and one batch
    /// in the container (peer up, address, default route).
    @Test func attachInThreeRoundTrips() throws {
        let host = try Sandbox()
        let container = try Sandbox()
        try host.netlink.addLink(LinkSpec(name: "br0", kind: .bridge(), up: true))
        let bridge = try #require(try host.netlink.link(named: "br0"))
        try host.netlink.addLink(LinkSpec(
            name: "vethA", kind: .veth(peer: VethPeer(name: "eth0", mtu: 1400, namespace: container.namespace)),
            mtu: 1400, masterIndex: bridge.index, up: true))

        let eth0 = try #require(try container.netlink.link(named: "eth0"))
        var batch = NetlinkBatch()
        batch.setLink(index: eth0.index, LinkChanges(up: true))
        batch.addAddress(InterfaceAddress(address: IPAddress("10.88.0.5")!, prefixLength: 16)!, interfaceIndex: eth0.index)
        batch.addRoute(Route.defaultRoute(via: IPAddress("10.88.0.1")!, outputInterface: eth0.index))
        try container.netlink.execute(batch)

        #expect(try container.netlink.link(index: eth0.index)?.isUp == true)
        #expect(try container.netlink.addresses(family: .v4, interfaceIndex: eth0.index).map(\.address.address) == [IPAddress("10.88.0.5")!])
        #expect(try container.netlink.routes(family: .v4).contains { $0.destination.prefixLength == 0 && $0.gateway == IPAddress("10.88.0.1") })
    }

    @Test func batchReportsTheFailingRequest() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb")), up: true))
        let link = try #require(try box.netlink.link(named: "va"))
        var batch = NetlinkBatch()
        batch.addAddress(InterfaceAddress(address: IPAddress("10.3.0.1")!, prefixLength: 24)!, interfaceIndex: link.index)
        batch.addRoute(Route.defaultRoute(via: IPAddress("198.51.100.1")!, outputInterface: link.index))  // unreachable
        batch.setLink(index: link.index, LinkChanges(mtu: 1280))
        let error = #expect(throws: NetlinkError.self) { try box.netlink.execute(batch) }
        #expect(error?.operation.hasPrefix("add route ") == true)
        #expect(error?.errno == ENETUNREACH)
        // The kernel still ran the requests around the failing one.
        #expect(try box.netlink.link(index: link.index)?.mtu == 1280)
        #expect(try box.netlink.addresses(interfaceIndex: link.index).contains { $0.address.address == IPAddress("10.3.0.1")! })
        try box.netlink.execute(NetlinkBatch())
    }

    @Test func linkCreatedDirectlyInAnotherNamespace() throws {
        let host = try Sandbox()
        let container = try Sandbox()
        try host.netlink.addLink(LinkSpec(name: "brX", kind: .bridge(), namespace: container.namespace, group: 3))
        #expect(try host.netlink.link(named: "brX") == nil)
        #expect(try container.netlink.link(named: "brX")?.group == 3)
    }

    @Test func setLinkChangesEverything() throws {
        let box = try Sandbox()
        let other = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge()))
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb"))))
        let bridge = try #require(try box.netlink.link(named: "br0"))
        let veth = try #require(try box.netlink.link(named: "va"))
        #expect(!veth.isUp)

        let mac = MACAddress.random()
        try box.netlink.setLink(index: veth.index, LinkChanges(name: "renamed", mtu: 1300, mac: mac, up: true,
                                                               masterIndex: bridge.index, group: 7))
        let changed = try #require(try box.netlink.link(index: veth.index))
        #expect(changed.name == "renamed")
        #expect(changed.mtu == 1300)
        #expect(changed.mac == mac)
        #expect(changed.isUp)
        #expect(changed.masterIndex == bridge.index)
        #expect(changed.group == 7)

        try box.netlink.setLink(index: veth.index, LinkChanges(up: false, masterIndex: 0))
        let released = try #require(try box.netlink.link(index: veth.index))
        #expect(!released.isUp)
        #expect(released.masterIndex == nil)
        #expect(released.name == "renamed")

        try box.netlink.setLink(index: veth.index, LinkChanges(namespace: other.namespace))
        #expect(try box.netlink.link(named: "renamed") == nil)
        let moved = try #require(try other.netlink.link(named: "renamed"))
        #expect(moved.mac == mac)
    }

    @Test func deleteLinksOfAGroupAtOnce() throws {
        let box = try Sandbox()
        for index in 0..<5 {
            try box.netlink.addLink(LinkSpec(name: "g\(index)", kind: .veth(peer: VethPeer(name: "p\(index)")), group: 42))
        }
        try box.netlink.addLink(LinkSpec(name: "keep", kind: .bridge(), group: 43))
        #expect(try box.netlink.links().filter { $0.group == 42 }.count == 5)
        try box.netlink.deleteLinks(group: 42)
        #expect(Set(try box.netlink.links().map(\.name)) == ["lo", "keep"])
        // Nothing left in the group: still fine.
        try box.netlink.deleteLinks(group: 42)
    }

    @Test func vxlanReadsBack() throws {
        let box = try Sandbox()
        let local = try #require(IPAddress("192.0.2.10"))
        try box.netlink.addLink(LinkSpec(name: "vx42", kind: .vxlan(VXLANOptions(
            vni: 42, port: 4789, local: local, learning: false, ttl: 64, udpChecksum: true)), mtu: 1450))
        let link = try #require(try box.netlink.link(named: "vx42"))
        #expect(link.kind == .vxlan)
        let vxlan = try #require(link.vxlan)
        #expect(vxlan.vni == 42)
        #expect(vxlan.port == 4789)
        #expect(vxlan.local == local)
        #expect(vxlan.remote == nil)
        #expect(!vxlan.learning)
        #expect(vxlan.ttl == 64)
        #expect(vxlan.udpChecksum == true)
        let details = try box.json("-d", "link", "show", "vx42")
        let data = (details.first?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
        #expect(data?["id"] as? Int == 42)
        #expect(data?["port"] as? Int == 4789)
        #expect(data?["learning"] as? Bool == false)
    }

    @Test func macvlanOnABridge() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge()))
        let bridge = try #require(try box.netlink.link(named: "br0"))
        try box.netlink.addLink(LinkSpec(name: "mv0", kind: .macvlan(parentIndex: bridge.index, mode: .bridge)))
        let macvlan = try #require(try box.netlink.link(named: "mv0"))
        #expect(macvlan.kind == .macvlan)
        #expect(macvlan.linkIndex == bridge.index)
        let data = ((try box.json("-d", "link", "show", "mv0").first?["linkinfo"] as? [String: Any])?["info_data"]) as? [String: Any]
        #expect(data?["mode"] as? String == "bridge")
    }

    @Test func errorsSayWhatFailed() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge()))
        let exists = #expect(throws: NetlinkError.self) { try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge())) }
        #expect(exists?.isExists == true)
        #expect(exists?.description.hasPrefix("create link br0: File exists") == true)

        #expect(try box.netlink.link(named: "missing") == nil)
        #expect(try box.netlink.link(named: "a-name-longer-than-ifnamsiz") == nil)
        let tooLong = #expect(throws: NetlinkError.self) {
            try box.netlink.addLink(LinkSpec(name: "v", kind: .veth(peer: VethPeer(name: "container-side-0"))))
        }
        #expect(tooLong?.description == "create link v: Numerical result out of range (interface name \"container-side-0\" is not 1 to 15 bytes long)")
        #expect(try box.netlink.link(index: 999) == nil)

        let missing = #expect(throws: NetlinkError.self) { try box.netlink.deleteLink(named: "missing") }
        #expect(missing?.errno == ENODEV)
        #expect(missing?.isNotFound == true)
        #expect(missing?.operation == "delete link missing")
        let missingIndex = #expect(throws: NetlinkError.self) { try box.netlink.deleteLink(index: 999) }
        #expect(missingIndex?.errno == ENODEV)
    }

    @Test func namespacesHaveIdentities() throws {
        let first = try NetworkNamespace.create()
        let second = try NetworkNamespace.create()
        #expect(first.identity != second.identity)
        let again = try NetworkNamespace(path: "/proc/\(getpid())/fd/\(first.fd)")
        #expect(again.identity == first.identity)
        #expect(first.identity.description == "\(first.identity.device)-\(first.identity.inode)")
        #expect(try NetworkNamespace.current().identity == NetworkNamespace(path: "/proc/self/ns/net").identity)

        let notNet = #expect(throws: NetlinkError.self) { try NetworkNamespace(path: "/proc/self/ns/uts") }
        #expect(notNet?.extendedAck == "not a network namespace")
        let notNamespace = #expect(throws: NetlinkError.self) { try NetworkNamespace(path: "/proc/self/status") }
        #expect(notNamespace?.extendedAck == "not a namespace file")
    }
}
