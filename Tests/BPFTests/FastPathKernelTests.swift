import BPF
import Glibc
import IPAM
import Netlink
import SwnetTestSupport
import Testing

/// The fast path program loaded into the real kernel and carrying real packets. The two
/// "containers" hang off the "host" by plain veth pairs with no bridge and no routing between
/// them, so a ping between them can only arrive through the program's bpf_redirect_peer.
@Suite("Fast path in the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN"))
struct FastPathKernelTests {
    struct Container {
        let namespace: NetworkNamespace
        let netlink: NetlinkHandle
        let address: IPAddress
        let mac: MACAddress
        let hostSide: Link

        func ping(_ address: IPAddress) throws -> Bool {
            let output = String(decoding: try spawn(nsenter(namespaceFD: namespace.fd)
                + ["/usr/bin/ping", "-c", "1", "-W", "1", address.description]), as: UTF8.self)
            return output.contains(" 1 received")
        }
    }

    /// Where the objects' ids are kept, removed afterwards. Nothing is pinned: the programs
    /// live on the devices of the test's namespaces and go with them.
    final class IDFile {
        let directory: String
        var path: String { directory + "/fastpath-ids" }
        init() throws {
            var template = Array("/tmp/swnet-bpf-test-XXXXXX".utf8CString)
            let made = try #require(mkdtemp(&template))
            directory = String(cString: made)
        }
        deinit {
            unlink(path)
            rmdir(directory)
        }
    }

    func makeContainer(_ number: Int, host: NetlinkHandle, address: String, prefix: Int = 24) throws -> Container {
        let namespace = try NetworkNamespace.create()
        let netlink = try NetlinkHandle(namespace: namespace)
        let mac = try #require(MACAddress("02:00:00:00:00:0\(number)"))
        let peer = VethPeer(name: "eth0", mac: mac, namespace: namespace, up: true)
        try host.addLink(LinkSpec(name: "host\(number)", kind: .veth(peer: peer), up: true))
        let inside = try #require(try netlink.link(named: "eth0"))
        let ip = try #require(IPAddress(address))
        var batch = NetlinkBatch()
        batch.addAddress(try #require(InterfaceAddress(address: ip, prefixLength: prefix)), interfaceIndex: inside.index, noDAD: true)
        batch.setLink(named: "lo", LinkChanges(up: true))
        try netlink.execute(batch)
        return Container(namespace: namespace, netlink: netlink, address: ip, mac: mac,
                         hostSide: try #require(try host.link(named: "host\(number)")))
    }

    @Test func redirectsBetweenContainersOfOneNetworkOnly() throws {
        let hostNamespace = try NetworkNamespace.create()
        let host = try NetlinkHandle(namespace: hostNamespace)
        let ids = try IDFile()
        let objects = FastPathObjects(idFile: ids.path)
        try objects.load()
        #expect(FastPathObjects(idFile: ids.path).open(), "another process finds them by id")

        let a = try makeContainer(1, host: host, address: "10.9.0.2")
        let b = try makeContainer(2, host: host, address: "10.9.0.3")
        // No bridge: the containers learn each other's MAC by hand.
        for (from, to) in [(a, b), (b, a)] {
            let inside = try #require(try from.netlink.link(named: "eth0"))
            try from.netlink.addNeighbor(Neighbor(interfaceIndex: inside.index, address: to.address, mac: to.mac))
        }
        #expect(try !a.ping(b.address), "no path exists without the program")

        let network: UInt32 = 7
        for container in [a, b] {
            try objects.attach(interface: container.hostSide.name, index: container.hostSide.index, namespace: hostNamespace)
            try objects.setPort(interfaceIndex: UInt32(container.hostSide.index), network: network)
            try objects.setEndpoint(FastPathEndpoint(network: network, address: container.address,
                                                     hostInterfaceIndex: UInt32(container.hostSide.index), mac: container.mac))
        }
        #expect(try Set(objects.ports().map(\.interfaceIndex)) == [UInt32(a.hostSide.index), UInt32(b.hostSide.index)])
        #expect(try Set(objects.endpoints().map(\.address)) == [a.address, b.address])
        let before = try objects.counters().redirected
        #expect(try a.ping(b.address))
        #expect(try b.ping(a.address))
        #expect(try objects.counters().redirected >= before + 4, "two echo requests and two replies redirected")

        // B's port on another network: A's packets are not for a neighbour any more.
        try objects.setEndpoint(FastPathEndpoint(network: network + 1, address: b.address,
                                                 hostInterfaceIndex: UInt32(b.hostSide.index), mac: b.mac))
        try objects.removeEndpoint(network: network, address: b.address)
        #expect(try !a.ping(b.address), "other networks are not neighbours")

        // Detaching removes the program from the device.
        try objects.setEndpoint(FastPathEndpoint(network: network, address: b.address,
                                                 hostInterfaceIndex: UInt32(b.hostSide.index), mac: b.mac))
        #expect(try a.ping(b.address))
        try objects.detach(index: a.hostSide.index, namespace: hostNamespace)
        #expect(try !a.ping(b.address))

        // Unloading detaches everything and forgets the ids.
        try objects.unload(namespace: hostNamespace)
        #expect(try !b.ping(a.address))
        #expect(!FastPathObjects(idFile: ids.path).open())
    }

    /// The maps behind VXLAN in the program: an overlay entry keeps the VXLAN settings, the
    /// peers follow a list exactly, and an underlay interface keeps a host-gw port's role.
    @Test func keepsVXLANSettingsPeersAndUnderlayRoles() throws {
        let hostNamespace = try NetworkNamespace.create()
        let ids = try IDFile()
        let objects = FastPathObjects(idFile: ids.path)
        try objects.load()
        defer { try? objects.unload(namespace: hostNamespace) }

        let vxlan = FastPathVXLAN(vni: 42, port: 4789, localAddress: try #require(IPAddress("192.168.200.1")),
                                  underlayInterfaceIndex: 3, vtepMAC: try #require(MACAddress("02:00:00:00:01:01")))
        let overlay = FastPathOverlay(network: 9, tunnelInterfaceIndex: 5, clusterSubnet: try #require(IPNetwork("10.171.0.0/16")),
                                      gatewayMAC: try #require(MACAddress("02:00:00:00:01:02")), vxlan: vxlan)
        try objects.setOverlay(overlay)
        #expect(objects.overlay(network: 9) == overlay)
        // Dual stack: the IPv6 subnet goes with it, up to /64 (the program compares 64 bits).
        var dual = overlay
        dual.clusterSubnet6 = IPNetwork("fd61::/48")
        try objects.setOverlay(dual)
        #expect(objects.overlay(network: 9) == dual)
        let tooLong = FastPathOverlay(network: 9, tunnelInterfaceIndex: 5, clusterSubnet: overlay.clusterSubnet,
                                      clusterSubnet6: IPNetwork("fd61::/96"), gatewayMAC: overlay.gatewayMAC, vxlan: vxlan)
        #expect(tooLong.clusterSubnet6 == nil)
        try objects.setOverlay(overlay)
        #expect(objects.overlay(network: 9)?.clusterSubnet6 == nil)

        let peer = { (mac: String, address: String) throws -> FastPathPeer in
            FastPathPeer(tunnelInterfaceIndex: 5, mac: try #require(MACAddress(mac)), underlayAddress: try #require(IPAddress(address)))
        }
        let first = try peer("02:00:00:00:02:01", "192.168.200.2"), second = try peer("02:00:00:00:02:02", "192.168.200.3")
        #expect(try objects.setPeers(tunnelInterfaceIndex: 5, [first, second]) == 2)
        #expect(try objects.setPeers(tunnelInterfaceIndex: 5, [first, second]) == 0, "nothing changes twice")
        let moved = try peer("02:00:00:00:02:02", "192.168.200.4")
        #expect(try objects.setPeers(tunnelInterfaceIndex: 5, [first, moved]) == 2, "a moved peer: old entry out, new in")
        #expect(try Set(objects.peers()) == [first, moved])

        // A host-gw overlay's tunnel port on the same interface: both roles, either can go.
        try objects.addUnderlay(interfaceIndex: 3)
        try objects.setPort(interfaceIndex: 3, network: 11, tunnel: true)
        #expect(try objects.ports().filter { $0.interfaceIndex == 3 }.map(\.underlay) == [true])
        #expect(try !objects.removeUnderlay(interfaceIndex: 3), "still the host-gw overlay's port")
        #expect(try objects.ports().filter { $0.interfaceIndex == 3 }.map(\.network) == [11])

        try objects.removeOverlay(network: 9)
        #expect(objects.overlay(network: 9) == nil)
        try objects.setPeers(tunnelInterfaceIndex: 5, [])
        #expect(try objects.peers().isEmpty)
    }
}
