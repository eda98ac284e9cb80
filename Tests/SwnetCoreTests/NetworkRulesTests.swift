import IPAM
import Testing
@testable import SwnetCore

/// The checks every path that makes a network shares (NetworkRules), on plain values: no root.
@Suite struct NetworkRulesTests {
    static func network(_ name: String, _ subnets: [String], bridge: String? = nil) -> NetworkDefinition {
        NetworkDefinition(name: name, subnets: subnets.map { IPNetwork($0)! }, gateways: [], bridge: bridge ?? name, mtu: nil,
                          managesBridge: true, created: 0)
    }

    static let overlay = NetworkDefinition.overlayShare(
        name: "ov", subnets: [IPNetwork("10.60.3.0/24")!], bridge: "ov", mtu: 1450, created: 0, clusterSubnets: [IPNetwork("10.60.0.0/16")!],
        mode: .vxlan, tunnel: "swnet-ov", underlayIP: IPAddress("192.0.2.10")!, lease: 1)

    static let existing = [network("web", ["10.88.0.0/24", "fd00:88::/64"]), overlay]

    @Test(arguments: [68, 1500, 9000, 65535] as [UInt32])
    func mtusTheKernelTakes(_ mtu: UInt32) {
        #expect(throws: Never.self) { try NetworkRules.checkMTU(mtu) }
    }

    @Test(arguments: [0, 67, 65536] as [UInt32])
    func mtusOutOfRange(_ mtu: UInt32) {
        #expect(throws: SwnetError.invalid("invalid MTU \(mtu): must be between 68 and 65535")) { try NetworkRules.checkMTU(mtu) }
    }

    @Test func noMTUIsTheDefault() {
        #expect(throws: Never.self) { try NetworkRules.checkMTU(nil) }
    }

    @Test(arguments: ["", "a/b", "a:b", "a b", "sixteen-bytes-xx", ".."])
    func bridgeNamesTheKernelRefuses(_ name: String) {
        #expect(throws: SwnetError.self) { try NetworkRules.checkBridgeName(name) }
    }

    @Test func aFreeSubnetPasses() {
        #expect(throws: Never.self) {
            try NetworkRules.checkSubnetsAreFree([IPNetwork("10.89.0.0/24")!, IPNetwork("fd00:89::/64")!], among: Self.existing)
        }
    }

    @Test func anOverlapNamesTheNetworkAndItsRange() {
        #expect(throws: SwnetError.subnetOverlaps(subnet: "10.88.0.128/25", network: "web", networkSubnet: "10.88.0.0/24")) {
            try NetworkRules.checkSubnetsAreFree([IPNetwork("10.88.0.128/25")!], among: Self.existing)
        }
        #expect(throws: SwnetError.subnetOverlaps(subnet: "fd00::/16", network: "web", networkSubnet: "fd00:88::/64")) {
            try NetworkRules.checkSubnetsAreFree([IPNetwork("10.89.0.0/24")!, IPNetwork("fd00::/16")!], among: Self.existing)
        }
    }

    @Test func anOverlaysRangeIsItsWholeClusterSubnet() {
        // Outside this host's share (10.60.3.0/24) but inside the overlay.
        #expect(throws: SwnetError.subnetOverlaps(subnet: "10.60.9.0/24", network: "ov", networkSubnet: "10.60.0.0/16")) {
            try NetworkRules.checkSubnetsAreFree([IPNetwork("10.60.9.0/24")!], among: Self.existing)
        }
    }

    @Test func anOverlayMayRedefineItsOwnNetwork() {
        let cluster = [IPNetwork("10.60.0.0/16")!]
        #expect(throws: Never.self) {
            try NetworkRules.checkSubnetsAreFree(cluster, role: "overlay subnet", except: "ov", among: Self.existing)
        }
        #expect(throws: SwnetError("overlay subnet 10.88.0.0/16 overlaps network web (10.88.0.0/24)")) {
            try NetworkRules.checkSubnetsAreFree([IPNetwork("10.88.0.0/16")!], role: "overlay subnet", except: "ov", among: Self.existing)
        }
    }

    @Test func aNewNetworkNeedsItsOwnNameBridgeAndSubnets() {
        let free = [IPNetwork("10.89.0.0/24")!]
        #expect(throws: Never.self) { try NetworkRules.checkIsNew(name: "db", bridge: "db", subnets: free, among: Self.existing) }
        #expect(throws: SwnetError.networkExists("web")) {
            try NetworkRules.checkIsNew(name: "web", bridge: "other", subnets: free, among: Self.existing)
        }
        #expect(throws: SwnetError("bridge web already belongs to network web")) {
            try NetworkRules.checkIsNew(name: "db", bridge: "web", subnets: free, among: Self.existing)
        }
        #expect(throws: SwnetError.self) {
            try NetworkRules.checkIsNew(name: "db", bridge: "db", subnets: [IPNetwork("10.88.0.0/16")!], among: Self.existing)
        }
    }
}
