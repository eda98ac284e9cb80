import IPAM
import Testing
@testable import SwnetCore

@Suite("Dual stack: a network's subnets and gateways from a request, the derived unique local /64")
struct DualStackTests {
    @Test func theUniqueLocalSubnetIsAStableFD00Slash64PerName() {
        let subnet = NetworkRules.uniqueLocalSubnet(for: "web")
        #expect(subnet.prefixLength == 64)
        #expect(IPNetwork("fd00::/8")!.contains(subnet))
        #expect(NetworkRules.uniqueLocalSubnet(for: "web") == subnet)
        #expect(NetworkRules.uniqueLocalSubnet(for: "db") != subnet)
    }

    @Test func ipv6AddsTheDerivedSubnetOnlyWhenNoIPv6SubnetIsGiven() throws {
        let derived = try NetworkRules.addressing(of: NetworkRequest(name: "web", subnets: [IPNetwork("10.1.0.0/24")!], ipv6: true))
        #expect(derived.subnets == [IPNetwork("10.1.0.0/24")!, NetworkRules.uniqueLocalSubnet(for: "web")])
        #expect(derived.gateways.map(\.family) == [.v4, .v6])

        let given = try NetworkRules.addressing(of: NetworkRequest(name: "web", subnets: [IPNetwork("fd00:1::/64")!], gateways: [IPAddress("fd00:1::fe")!], ipv6: true))
        #expect(given.subnets == [IPNetwork("fd00:1::/64")!] && given.gateways == [IPAddress("fd00:1::fe")!])

        let only6 = try NetworkRules.addressing(of: NetworkRequest(name: "six", subnets: [], ipv6: true))
        #expect(only6.subnets == [NetworkRules.uniqueLocalSubnet(for: "six")])
        #expect(only6.gateways == [NetworkRules.uniqueLocalSubnet(for: "six").address(atOffset: 1)!])
    }

    @Test func badCombinationsAreRefused() {
        let requests = [
            NetworkRequest(name: "n", subnets: []),
            NetworkRequest(name: "n", subnets: [IPNetwork("fd00:1::/64")!, IPNetwork("fd00:2::/64")!]),
            NetworkRequest(name: "n", subnets: [IPNetwork("10.1.0.0/24")!, IPNetwork("10.2.0.0/24")!]),
            NetworkRequest(name: "n", subnets: [IPNetwork("10.1.0.0/24")!], gateways: [IPAddress("fd00:1::1")!]),
            NetworkRequest(name: "n", subnets: [IPNetwork("fd00:1::/64")!], gateways: [IPAddress("fd00:2::1")!]),
            NetworkRequest(name: "n", subnets: [IPNetwork("fd00:1::/64")!], gateways: [IPAddress("fd00:1::1")!, IPAddress("fd00:1::2")!]),
        ]
        for request in requests {
            #expect(throws: SwnetError.self) { try NetworkRules.addressing(of: request) }
        }
    }
}
