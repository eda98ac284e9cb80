import IPAM
import Netlink
import Testing
@testable import SwnetCore
@testable import SwnetOverlay

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
        _ = try sandbox.swnet.store.write { state in
            try sandbox.swnet.setUpOverlayNetwork(overlay, subnet: IPNetwork("10.60.3.0/24")!,
                                                  underlay: Underlay(interface: underlay, address: IPAddress("192.0.2.10")!),
                                                  vtepMAC: nil, lease: 0, transmitChecksumOffload: true, in: state)
        }
        let before = try sandbox.stateSnapshot()
        let container = try sandbox.container()

        // Outside this host's share (10.60.3.0/24) but inside the cluster's range.
        let attach = AttachRequest(target: container.path, network: "newbridge", address: InterfaceAddress("10.60.9.5/24"))
        let attachError = #expect(throws: SwnetError.self) { try sandbox.swnet.attach(attach) }
        #expect(attachError?.message == "subnet 10.60.9.0/24 overlaps network prod (10.60.0.0/16)")
        let create = NetworkRequest(name: "other", subnet: IPNetwork("10.60.200.0/24")!)
        #expect(throws: SwnetError.self) { try sandbox.swnet.createNetwork(create) }
        let second = OverlayConfiguration(name: "staging", subnet: IPNetwork("10.0.0.0/8")!, mode: .hostGateway)
        let overlayError = #expect(throws: SwnetError.self) {
            try sandbox.swnet.store.write { state in
                try sandbox.swnet.setUpOverlayNetwork(second, subnet: IPNetwork("10.1.0.0/24")!,
                                                      underlay: Underlay(interface: underlay, address: IPAddress("192.0.2.10")!),
                                                      vtepMAC: nil, lease: 0, transmitChecksumOffload: true, in: state)
            }
        }
        #expect(overlayError?.message == "overlay subnet 10.0.0.0/8 overlaps network prod (10.60.0.0/16)")
        #expect(try sandbox.stateSnapshot() == before)
        #expect(try netlink.link(named: "newbridge") == nil)

        // A neighbouring range is still free.
        try sandbox.swnet.attach(AttachRequest(target: container.path, network: "newbridge", address: InterfaceAddress("10.61.9.5/24")))
    }
}

@Suite("Interface attachments against the real kernel", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct InterfaceAttachmentTests {
    @Test func macvlanAttachDetachAndRecoveryFromACrash() throws {
        let sandbox = try Sandbox()
        let host = try sandbox.hostNetlink()
        try host.addLink(LinkSpec(name: "up0", kind: .veth(peer: VethPeer(name: "up0p")), up: true))
        let uplink = try #require(try host.link(named: "up0"))
        let container = try sandbox.container()
        let inside = try NetlinkHandle(namespace: container.namespace)

        let request = AttachRequest(target: container.path, network: "up0", address: InterfaceAddress("10.90.0.5/24"))
        #expect(try sandbox.swnet.attachesThroughInterface(request))
        let record = try sandbox.swnet.attachInterface(request)
        #expect(record.kind == .macvlan && record.phase == .active && record.parent == "up0")
        #expect(try inside.link(named: "eth0")?.kind == .macvlan)
        let detached = try sandbox.swnet.detachAll(DetachRequest(target: container.path, network: "up0"))
        #expect(detached.interfaces.map(\.containerInterface) == ["eth0"] && detached.attachments.isEmpty)
        #expect(try inside.link(named: "eth0") == nil)

        // A swnet killed part-way: its record still pending, the macvlan already in the container.
        var pending = record
        pending.phase = .pending
        try sandbox.swnet.store.write { state in try state.save(pending) }
        var spec = LinkSpec(name: "eth0", kind: .macvlan(parentIndex: uplink.index, mode: .bridge))
        spec.namespace = container.namespace
        try host.addLink(spec)
        let report = try sandbox.swnet.collectGarbage()
        #expect(report.interfaces.map(\.containerInterface) == ["eth0"])
        #expect(try inside.link(named: "eth0") == nil)
        let left = try sandbox.swnet.store.read { state in try state.linkAttachments() }
        #expect(left.isEmpty)
        #expect(try host.link(named: "up0") != nil)
    }
}
