import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

@Suite("Neighbours and FDB against the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct NeighborFDBTests {
    @Test func neighboursAddListDelete() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "va", kind: .veth(peer: VethPeer(name: "vb")), up: true))
        let link = try #require(try box.netlink.link(named: "va"))
        let v4 = Neighbor(interfaceIndex: link.index, address: IPAddress("10.5.0.9")!, mac: MACAddress("02:00:00:00:00:09"))
        let v6 = Neighbor(interfaceIndex: link.index, address: IPAddress("fd00:5::9")!, mac: MACAddress("02:00:00:00:00:10"))
        try box.netlink.addNeighbor(v4)
        try box.netlink.setNeighbor(v6)
        let exists = #expect(throws: NetlinkError.self) { try box.netlink.addNeighbor(v4) }
        #expect(exists?.isExists == true)

        var moved = v4
        moved.mac = MACAddress("02:00:00:00:00:99")
        try box.netlink.setNeighbor(moved)
        #expect(try box.netlink.neighbors(family: .v4, interfaceIndex: link.index) == [moved])
        #expect(try box.netlink.neighbors(family: .v6, interfaceIndex: link.index).contains(v6))
        #expect(Set(try box.netlink.neighbors().map(\.address)).isSuperset(of: [v4.address, v6.address]))
        let fromIP = try box.json("neigh", "show", "10.5.0.9")
        #expect(fromIP.first?["lladdr"] as? String == "02:00:00:00:00:99")

        try box.netlink.deleteNeighbor(moved)
        try box.netlink.deleteNeighbor(v6)
        #expect(try box.netlink.neighbors(interfaceIndex: link.index).filter { $0.state == 0x80 /* NUD_PERMANENT */ }.isEmpty)
        let gone = #expect(throws: NetlinkError.self) { try box.netlink.deleteNeighbor(v6) }
        #expect(gone?.isNotFound == true)
    }

    @Test func vxlanFloodListAndMACEntries() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "vx7", kind: .vxlan(VXLANOptions(vni: 7, local: IPAddress("192.0.2.1"), learning: false))))
        let vxlan = try #require(try box.netlink.link(named: "vx7"))
        let flood = MACAddress(bytes: [0, 0, 0, 0, 0, 0])!
        let remoteA = FDBEntry(interfaceIndex: vxlan.index, mac: flood, destination: IPAddress("192.0.2.2"))
        let remoteB = FDBEntry(interfaceIndex: vxlan.index, mac: flood, destination: IPAddress("192.0.2.3"))
        try box.netlink.addFDB(remoteA)
        try box.netlink.addFDB(remoteB)
        try box.netlink.addFDB(remoteB)  // appending a known destination changes nothing

        let container = try #require(MACAddress("02:42:0a:00:00:05"))
        try box.netlink.setFDB(FDBEntry(interfaceIndex: vxlan.index, mac: container, destination: IPAddress("192.0.2.2"), vni: 70, port: 8472))
        let movedEntry = FDBEntry(interfaceIndex: vxlan.index, mac: container, destination: IPAddress("192.0.2.3"))
        try box.netlink.setFDB(movedEntry)

        let entries = try box.netlink.fdb(interfaceIndex: vxlan.index)
        #expect(entries.filter { $0.mac == flood }.compactMap(\.destination) == [IPAddress("192.0.2.2")!, IPAddress("192.0.2.3")!]
            || entries.filter { $0.mac == flood }.compactMap(\.destination) == [IPAddress("192.0.2.3")!, IPAddress("192.0.2.2")!])
        #expect(entries.filter { $0.mac == container } == [movedEntry])
        let fromBridgeTool = try box.run("bridge", "fdb", "show", "dev", "vx7")
        #expect(fromBridgeTool.contains("02:42:0a:00:00:05 dst 192.0.2.3"))

        try box.netlink.deleteFDB(remoteA)
        try box.netlink.deleteFDB(movedEntry)
        #expect(try box.netlink.fdb(interfaceIndex: vxlan.index) == [remoteB])
    }

    @Test func bridgePortStaticEntry() throws {
        let box = try Sandbox()
        try box.netlink.addLink(LinkSpec(name: "br0", kind: .bridge(), up: true))
        let bridge = try #require(try box.netlink.link(named: "br0"))
        try box.netlink.addLink(LinkSpec(name: "port0", kind: .veth(peer: VethPeer(name: "peer0")), masterIndex: bridge.index))
        let port = try #require(try box.netlink.link(named: "port0"))

        let entry = FDBEntry(interfaceIndex: port.index, mac: MACAddress("02:00:00:aa:bb:cc")!, flags: .master, state: .static)
        try box.netlink.addFDB(entry)
        let entries = try box.netlink.fdb(interfaceIndex: port.index)
        #expect(entries.contains { $0.mac == entry.mac && $0.flags.contains(.master) && $0.state == .static })
        #expect(try box.run("bridge", "fdb", "show", "br", "br0").contains("02:00:00:aa:bb:cc dev port0 master br0 static"))
        try box.netlink.deleteFDB(entry)
        #expect(!(try box.netlink.fdb(interfaceIndex: port.index)).contains { $0.mac == entry.mac })
    }
}
