import Foundation
import IPAM
import Netlink
import Testing
@testable import SwnetCore

@Suite("Attach and detach against the real kernel", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct AttachTests {
    @Test func attachesTwoContainersAndDetaches() throws {
        let sandbox = try Sandbox()
        try sandbox.swnet.createNetwork(NetworkRequest(name: "n1", subnet: IPNetwork("10.9.0.0/24")!))
        let c1 = try sandbox.container()
        let c2 = try sandbox.container()
        let first = try sandbox.swnet.attach(AttachRequest(target: c1.path, network: "n1", address: InterfaceAddress("10.9.0.5/24")))
        let second = try sandbox.swnet.attach(AttachRequest(target: c2.path, network: "n1"))
        #expect(first.attachment.address.description == "10.9.0.5/24")
        #expect(second.attachment.address.description == "10.9.0.2/24")
        #expect(second.defaultRoute == IPAddress("10.9.0.1"))

        let inside = try NetlinkHandle(namespace: c1.namespace)
        let eth0 = try #require(try inside.link(named: "eth0"))
        #expect(eth0.isUp)
        #expect(try inside.addresses(family: .v4, interfaceIndex: eth0.index).map(\.address.description) == ["10.9.0.5/24"])
        #expect(try inside.routes(family: .v4).contains { $0.destination.prefixLength == 0 && $0.gateway == IPAddress("10.9.0.1") })

        let host = try sandbox.hostNetlink()
        let bridge = try #require(try host.link(named: "n1"))
        let hostSide = try #require(try host.link(named: first.attachment.hostInterface))
        #expect(hostSide.masterIndex == bridge.index)
        #expect(try sandbox.swnet.inspectNetwork("n1").attachments.count == 2)

        try sandbox.swnet.detach(DetachRequest(target: c1.path))
        #expect(try host.link(named: first.attachment.hostInterface) == nil)
        #expect(try inside.link(named: "eth0") == nil)
        // The released address is handed out again.
        let c3 = try sandbox.container()
        let third = try sandbox.swnet.attach(AttachRequest(target: c3.path, network: "n1", address: InterfaceAddress("10.9.0.5/24")))
        #expect(third.attachment.address.description == "10.9.0.5/24")
    }

    @Test func rejectsBadRequestsWithoutChangingAnything() throws {
        let sandbox = try Sandbox()
        try sandbox.swnet.createNetwork(NetworkRequest(name: "n2", subnet: IPNetwork("10.8.0.0/24")!))
        let c1 = try sandbox.container()
        try sandbox.swnet.attach(AttachRequest(target: c1.path, network: "n2", address: InterfaceAddress("10.8.0.5/24")))
        let c2 = try sandbox.container()
        let before = try sandbox.stateSnapshot()
        let linksBefore = try sandbox.hostNetlink().links().map(\.name)
        let bad: [AttachRequest] = [
            AttachRequest(target: c1.path, network: "n2"),                                     // twice on one network
            AttachRequest(target: c2.path, network: "n2", address: InterfaceAddress("10.8.0.5/24")),  // taken
            AttachRequest(target: c2.path, network: "n2", address: InterfaceAddress("10.8.1.5/24")),  // outside
            AttachRequest(target: c2.path, network: "n2", address: InterfaceAddress("10.8.0.1/24")),  // gateway
            AttachRequest(target: c2.path, network: "n2", address: InterfaceAddress("10.8.0.255/24")), // broadcast
            AttachRequest(target: c2.path, network: "missing"),                                 // no IP/LEN to create it
            AttachRequest(target: c2.path, network: "n2", containerInterface: "x/y"),
            AttachRequest(target: c2.path, network: "n2", hostInterface: "n2"),                  // exists
            AttachRequest(target: "/nonexistent/ns", network: "n2"),
        ]
        for request in bad {
            #expect(throws: SwnetError.self) { try sandbox.swnet.attach(request) }
        }
        #expect(try sandbox.stateSnapshot() == before)
        #expect(try sandbox.hostNetlink().links().map(\.name) == linksBefore)
        #expect(try NetlinkHandle(namespace: c2.namespace).links().map(\.name) == ["lo"])
    }

    @Test func createsMissingBridgeFromAddressPipeworkStyle() throws {
        let sandbox = try Sandbox()
        let c1 = try sandbox.container()
        let result = try sandbox.swnet.attach(AttachRequest(target: c1.path, network: "br9", address: InterfaceAddress("192.168.9.7/24"),
                                                            mac: .derived("web")))
        #expect(result.createdNetwork)
        let host = try sandbox.hostNetlink()
        let bridge = try #require(try host.link(named: "br9"))
        #expect(try host.addresses(family: .v4, interfaceIndex: bridge.index).map(\.address.description) == ["192.168.9.1/24"])
        #expect(result.attachment.mac == InterfaceNames.stableMAC(seed: "web"))
    }

    @Test func removingANetworkWithAttachmentsDeletesTheirLinksInBulk() throws {
        let sandbox = try Sandbox()
        try sandbox.swnet.createNetwork(NetworkRequest(name: "bulk", subnet: IPNetwork("10.7.0.0/24")!))
        let containers = try (0..<5).map { _ in try sandbox.container() }
        for container in containers { try sandbox.swnet.attach(AttachRequest(target: container.path, network: "bulk")) }
        #expect(throws: SwnetError.self) { try sandbox.swnet.removeNetworks(["bulk"], force: false) }
        try sandbox.swnet.removeNetworks(["bulk"], force: true)
        #expect(try sandbox.hostNetlink().links().map(\.name) == ["lo"])
        #expect(try sandbox.swnet.listNetworks().isEmpty)
    }

    @Test func garbageCollectionReleasesWhatADeadNamespaceHeld() throws {
        let sandbox = try Sandbox()
        try sandbox.swnet.createNetwork(NetworkRequest(name: "gc", subnet: IPNetwork("10.6.0.0/24")!))
        var container: NetworkNamespace? = try NetworkNamespace.create()
        let path = "/proc/\(getpid())/fd/\(container!.fd)"
        try sandbox.swnet.attach(AttachRequest(target: path, network: "gc"))
        container = nil  // the last reference: the namespace dies and takes the veth pair with it
        var report = CollectionReport()
        for _ in 0..<50 where report.attachments.isEmpty {
            report = try sandbox.swnet.collectGarbage()
            if report.attachments.isEmpty { usleep(20_000) }  // namespace teardown is asynchronous
        }
        #expect(report.attachments.count == 1)
        #expect(try sandbox.swnet.inspectNetwork("gc").attachments.isEmpty)
    }
}
