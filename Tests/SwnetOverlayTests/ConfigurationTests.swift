import IPAM
import JSON
import Netlink
import Testing
import SwnetCore
@testable import SwnetOverlay

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
        #expect(good.containerMTU(underlayMTU: 1500, underlay: .v6) == 1430)
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

    @Test func dualStackPairsEachHostsIPv6ShareWithItsIPv4One() throws {
        let dual = OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, subnet6: IPNetwork("fd40::/48")!)
        try dual.validate()
        #expect(dual.subnets == [IPNetwork("10.40.0.0/16")!, IPNetwork("fd40::/48")!])
        #expect(dual.hostSubnet6(pairedWith: IPNetwork("10.40.0.0/24")!) == IPNetwork("fd40::/64"))
        #expect(dual.hostSubnet6(pairedWith: IPNetwork("10.40.255.0/24")!) == IPNetwork("fd40:0:0:ff::/64"))
        #expect(dual.hostSubnet6(pairedWith: IPNetwork("10.41.0.0/24")!) == nil)
        #expect(dual.hostSubnets(IPNetwork("10.40.7.0/24")!) == [IPNetwork("10.40.7.0/24")!, IPNetwork("fd40:0:0:7::/64")!])
        let ipv4Only = OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!)
        #expect(ipv4Only.hostSubnet6(pairedWith: IPNetwork("10.40.7.0/24")!) == nil)
        #expect(OverlayConfiguration.uniqueLocalSubnet(for: "ov").prefixLength == 48)
        #expect(OverlayConfiguration.uniqueLocalSubnet(for: "ov").contains(NetworkRules.uniqueLocalSubnet(for: "ov")))

        let bad = [
            // Fewer IPv6 shares (256) than IPv4 ones (65,536).
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.0.0.0/8")!, subnet6: IPNetwork("fd40::/48")!, hostPrefix6: 56),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, subnet6: IPNetwork("10.41.0.0/16")!),
            OverlayConfiguration(name: "ov", subnet: IPNetwork("10.40.0.0/16")!, subnet6: IPNetwork("fd40::/48")!, hostPrefix6: 127),
        ]
        for configuration in bad { #expect(throws: SwnetError.self) { try configuration.validate() } }

        #expect(try OverlayConfiguration(json: JSON(parsing: dual.json.serialized())) == dual)
        // A configuration written before dual stack has neither key: IPv4 only, as it was.
        let old = #"{"name":"ov","subnet":"10.40.0.0/16","hostPrefix":24,"vni":1,"port":4789,"mode":"vxlan","mtu":null}"#
        #expect(try OverlayConfiguration(json: JSON(parsing: old)) == ipv4Only)
        #expect(ipv4Only.json["subnet6"] == nil)
    }

    @Test func registrationsCarryTheIPv6ShareAndOldOnesStillRead() throws {
        let host = OverlayHost(subnet: IPNetwork("10.40.3.0/24")!, subnet6: IPNetwork("fd40:0:0:3::/64"), underlayIP: IPAddress("192.168.1.7")!,
                               vtepMAC: MACAddress("02:11:22:33:44:55"), underlayMAC: MACAddress("02:aa:00:00:00:01"),
                               hostID: "abc", hostname: "node7")
        #expect(try OverlayHost(registration: JSON(parsing: host.registration.serialized()), lease: 0) == host)
        #expect(host.gateway6 == IPAddress("fd40:0:0:3::1"))
        #expect(host.json["gateway6"]?.string == "fd40:0:0:3::1")
        let old = #"{"subnet":"10.40.3.0/24","underlayIP":"192.168.1.7","hostID":"abc","hostname":"node7","vtepMAC":null}"#
        let read = try OverlayHost(registration: JSON(parsing: old), lease: 0)
        #expect(read.subnet6 == nil && read.gateway6 == nil && read.underlayMAC == nil)
        let damaged = #"{"subnet":"10.40.3.0/24","subnet6":"10.40.9.0/24","underlayIP":"192.168.1.7","hostID":"abc"}"#
        #expect(throws: SwnetError.self) { try OverlayHost(registration: JSON(parsing: damaged), lease: 0) }
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
