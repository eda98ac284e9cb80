import IPAM
import Netlink
import Testing
@testable import SwnetCore

@Suite struct RateLimitTests {
    @Test func readsTcUnits() throws {
        #expect(try RateLimit(parsing: "10mbit").bitsPerSecond == 10_000_000)
        #expect(try RateLimit(parsing: "1Gbit").bitsPerSecond == 1_000_000_000)
        #expect(try RateLimit(parsing: "2mbps").bitsPerSecond == 16_000_000)
        #expect(try RateLimit(parsing: "512kibit").bitsPerSecond == 524_288)
        #expect(try RateLimit(parsing: "64000").bitsPerSecond == 64_000)
        #expect(try RateLimit(parsing: "1.5mbit/10kb") == RateLimit(bitsPerSecond: 1_500_000, burstBytes: 10_240))
        for bad in ["", "mbit", "10 mbit", "10furlongs", "-1mbit", "10mbit/", "10mbit/0", "10mbit/3x"] {
            #expect(throws: SwnetError.self, "\(bad)") { try RateLimit(parsing: bad) }
        }
    }

    @Test func bucketHasABurstForGSOAndAQueueOf50Milliseconds() {
        let slow = RateLimit(bitsPerSecond: 8_000_000).tokenBucket
        #expect(slow.bytesPerSecond == 1_000_000 && slow.burstBytes == 32 * 1024)
        #expect(slow.limitBytes == 50_000 + 32 * 1024)
        let fast = RateLimit(bitsPerSecond: 8_000_000_000).tokenBucket
        #expect(fast.burstBytes == 10_000_000)
    }
}

@Suite("One overlap rule for every way a network is made", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct SubnetOverlapTests {
    @Test func anOverlayClusterRangeIsTakenOnEveryPath() throws {
        let sandbox = try Sandbox()
        let netlink = try sandbox.hostNetlink()
        let underlay = try sandbox.bridge("under0")
        let overlay = OverlayConfiguration(name: "prod", subnet: IPNetwork("10.60.0.0/16")!, mode: .hostGateway)
        _ = try sandbox.swnet.setUpOverlayNetwork(overlay, subnet: IPNetwork("10.60.3.0/24")!,
                                                  underlay: Underlay(interface: underlay, address: IPAddress("192.0.2.10")!),
                                                  vtepMAC: nil, lease: 0, transmitChecksumOffload: true)
        // The first command under the lock records the boot: not a change a failure made.
        let state = { sandbox.stateSnapshot().filter { $0.key != "run/boot-id" } }
        let before = state()
        let container = try sandbox.container()

        // Outside this host's share (10.60.3.0/24) but inside the cluster's range.
        let attach = AttachRequest(target: container.path, network: "newbridge", address: InterfaceAddress("10.60.9.5/24"))
        let attachError = #expect(throws: SwnetError.self) { try sandbox.swnet.attach(attach) }
        #expect(attachError?.message == "subnet 10.60.9.0/24 overlaps network prod (10.60.0.0/16)")
        let create = NetworkRequest(name: "other", subnet: IPNetwork("10.60.200.0/24")!)
        #expect(throws: SwnetError.self) { try sandbox.swnet.createNetwork(create) }
        let second = OverlayConfiguration(name: "staging", subnet: IPNetwork("10.0.0.0/8")!, mode: .hostGateway)
        let overlayError = #expect(throws: SwnetError.self) {
            try sandbox.swnet.setUpOverlayNetwork(second, subnet: IPNetwork("10.1.0.0/24")!,
                                                  underlay: Underlay(interface: underlay, address: IPAddress("192.0.2.10")!),
                                                  vtepMAC: nil, lease: 0, transmitChecksumOffload: true)
        }
        #expect(overlayError?.message == "overlay subnet 10.0.0.0/8 overlaps network prod (10.60.0.0/16)")
        #expect(state() == before)
        #expect(try netlink.link(named: "newbridge") == nil)

        // A neighbouring range is still free.
        try sandbox.swnet.attach(AttachRequest(target: container.path, network: "newbridge", address: InterfaceAddress("10.61.9.5/24")))
    }
}
