import IPAM
import JSON
import Netlink
import Testing
@testable import SwnetCore

@Suite("Overlay configuration and registrations")
struct OverlayConfigurationTests {
    @Test func validatesWhatHostsMustAgreeOn() throws {
        let good = OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!)
        try good.validate()
        #expect(good.hostSubnetCount == 256)
        #expect(good.hostSubnet(0)?.description == "10.40.0.0/24")
        #expect(good.hostSubnet(255)?.description == "10.40.255.0/24")
        #expect(good.hostSubnet(256) == nil)
        #expect(good.containerMTU(underlayMTU: 1500) == 1450)
        #expect(OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, mode: .hostGateway).containerMTU(underlayMTU: 1500) == 1500)
        #expect(good.isHostSubnet(IPNetwork("10.40.7.0/24")!))
        #expect(!good.isHostSubnet(IPNetwork("10.41.7.0/24")!))
        #expect(!good.isHostSubnet(IPNetwork("10.40.7.0/25")!))

        let bad = [
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/24")!, hostPrefix: 24),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, hostPrefix: 31),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, vni: 0),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, vni: 1 << 24),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("fd00::/48")!),
            OverlayConfiguration(name: "bad/name", subnet: IPNetwork("10.40.0.0/16")!),
        ]
        for configuration in bad { #expect(throws: SwnetError.self) { try configuration.validate() } }
    }

    @Test func configurationAndHostRoundTripThroughJSON() throws {
        let configuration = OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, hostPrefix: 26, vni: 42,
                                                 port: 8472, mode: .vxlan, mtu: 1400)
        #expect(try OverlayConfiguration(json: JSON(parsing: configuration.json.serialized())) == configuration)
        let host = OverlayHost(subnet: IPNetwork("10.40.3.0/24")!, underlayIP: IPAddress("192.168.1.7")!,
                               vtepMAC: MACAddress("02:11:22:33:44:55"), hostID: "abc", hostname: "node7", lease: 99)
        #expect(try OverlayHost(registration: JSON(parsing: host.registration.serialized()), lease: 99) == host)
        #expect(host.gateway == IPAddress("10.40.3.1"))
    }

    @Test func keysNameTheHostSubnet() {
        let keys = OverlayKeys(name: "ov")
        let subnet = IPNetwork("10.40.3.0/24")!
        #expect(keys.host(subnet) == "/swnet/overlays/ov/hosts/10.40.3.0-24")
        #expect(keys.subnet(ofHostKey: keys.host(subnet)) == subnet)
        #expect(keys.subnet(ofHostKey: "/swnet/overlays/other/hosts/10.40.3.0-24") == nil)
        #expect(keys.subnet(ofHostKey: keys.hosts + "garbage") == nil)
    }

    @Test func endpointHostsForUnderlayDetection() {
        #expect(Swnet.endpointHost("http://10.0.0.1:2379") == "10.0.0.1")
        #expect(Swnet.endpointHost("https://etcd.example:2379/") == "etcd.example")
        #expect(Swnet.endpointHost("10.0.0.2:2379") == "10.0.0.2")
        #expect(Swnet.endpointHost("http://[fd00::1]:2379") == nil)
    }
}

@Suite("Overlay data plane against the real kernel", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct OverlayDataPlaneTests {
    private func peer(_ subnet: String, _ underlay: String, _ mac: String) -> OverlayHost {
        OverlayHost(subnet: IPNetwork(subnet)!, underlayIP: IPAddress(underlay)!, vtepMAC: MACAddress(mac), hostID: subnet, hostname: "")
    }

    @Test func vxlanEntriesFollowThePeersOnEveryAttribute() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        var spec = LinkSpec(name: "swvx7", kind: .vxlan(VXLANOptions(vni: 7, learning: false)))
        spec.up = true
        try netlink.addLink(spec)
        let device = try #require(try netlink.link(named: "swvx7"))
        let plane = OverlayDataPlane(mode: .vxlan, clusterSubnet: IPNetwork("10.50.0.0/16")!, interfaceIndex: device.index)

        var peers = [peer("10.50.1.0/24", "192.0.2.1", "02:00:00:00:00:01"), peer("10.50.2.0/24", "192.0.2.2", "02:00:00:00:00:02")]
        let first = try plane.reconcile(netlink, peers: peers)
        #expect(first.added.count == 6 && first.removed.isEmpty)
        #expect(try plane.current(netlink) == plane.desired(for: peers))
        let route = try #require(try netlink.routes(family: .v4).first { $0.destination == IPNetwork("10.50.1.0/24") })
        #expect(route.gateway == IPAddress("10.50.1.1") && route.onLink && route.outputInterface == device.index)
        // Nothing to do the second time.
        #expect(try plane.reconcile(netlink, peers: peers).added.isEmpty)

        // Peer 2 moved to another underlay address and got another MAC; peer 1 left.
        peers = [peer("10.50.2.0/24", "192.0.2.22", "02:00:00:00:00:22")]
        let second = try plane.reconcile(netlink, peers: peers)
        #expect(second.removed.count == 5 && second.added.count == 2)
        #expect(try plane.current(netlink) == plane.desired(for: peers))
        #expect(try netlink.fdb(interfaceIndex: device.index).filter { $0.destination != nil }.map(\.destination) == [IPAddress("192.0.2.22")])

        try plane.removeAll(netlink)
        #expect(try plane.current(netlink).isEmpty)
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
