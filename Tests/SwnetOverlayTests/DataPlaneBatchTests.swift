import CMnl
import IPAM
@testable import Netlink
import NetlinkTransport
import SwnetCore
import Testing
@testable import SwnetOverlay

/// Stands in for the kernel: records every write, acknowledges every change, and answers
/// every dump as an empty kernel would.
private final class EmptyKernel: MessageTransport {
    let portID: UInt32 = 4242
    private(set) var writes: [[NetlinkMessage]] = []
    private var queued: [NetlinkMessage] = []

    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        let requests = bytes.withUnsafeBytes { NetlinkMessage.split($0) }
        writes.append(requests)
        for request in requests {
            let isDump = request.flags & 0x300 == 0x300                            // NLM_F_DUMP
            queued.append(NetlinkMessage(bytes: isDump
                ? header(length: 20, type: 3, flags: 0x2, sequence: request.sequence) + [0, 0, 0, 0]   // NLMSG_DONE
                : header(length: 36, type: 2, flags: 0x100, sequence: request.sequence)                // NLMSG_ERROR 0: ack
                    + [0, 0, 0, 0] + request.bytes.prefix(16)))
        }
    }

    func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        defer { queued = [] }
        return queued
    }

    private func header(length: UInt32, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        return bytes(length) + bytes(type) + bytes(flags) + bytes(sequence) + bytes(portID)
    }
}

/// One change as `ip` would print the request.
private func describe(_ message: NetlinkMessage) -> String {
    // RTM_DEL* carries what RTM_NEW* does: read it as one.
    let isDelete = [25, 29, 105].contains(message.type)                            // RTM_DELROUTE, RTM_DELNEIGH, RTM_DELNEXTHOP
    var bytes = message.bytes
    if isDelete { bytes[4] -= 1 }
    let request = NetlinkMessage(bytes: bytes)
    let verb = isDelete ? "delete" : message.flags & 0x100 != 0 ? "replace" : "add"    // NLM_F_REPLACE
    if let route = RouteMessage.parse(request) {
        let nexthop = route.nexthopID.map { "nhid \($0)" }
            ?? "via \(route.gateway.map { "\($0)" } ?? "-") dev \(route.outputInterface ?? 0)" + (route.onLink ? " onlink" : "")
        return "route \(verb) \(route.destination) \(nexthop) proto \(route.protocol)"
    }
    if isDelete && message.type == 105 {
        return "nexthop delete id \(request.attributes(after: nhmsg.self, count: __NHA_MAX)?.u32(NHA_ID) ?? 0)"
    }
    if let nexthop = NexthopMessage.parse(request) {
        return "nexthop \(verb) id \(nexthop.id) via \(nexthop.gateway.map { "\($0)" } ?? "-") dev \(nexthop.interfaceIndex)"
            + (nexthop.onLink ? " onlink" : "") + " proto \(nexthop.protocol)"
    }
    if let neighbor = NeighborMessage.parse(request) {
        return "neigh \(verb) \(neighbor.address) lladdr \(neighbor.mac.map { "\($0)" } ?? "-") dev \(neighbor.interfaceIndex)"
            + (neighbor.isPermanent ? " permanent" : "")
    }
    if let entry = NeighborMessage.parseFDB(request) {
        return "fdb \(verb) \(entry.mac) dev \(entry.interfaceIndex) dst \(entry.destination.map { "\($0)" } ?? "-")"
            + (entry.flags.contains(.device) ? " self" : "") + (entry.state == .permanent ? " permanent" : "")
    }
    return "type \(message.type)"
}

/// The data plane's netlink batches through an injectable transport: which changes, in which
/// order, in how many writes. No root, no kernel.
@Suite("Overlay data plane batches, golden")
struct DataPlaneBatchTests {
    private func peer(_ index: Int) -> OverlayHost {
        OverlayHost(subnet: IPNetwork("10.40.\(index).0/24")!, underlayIP: IPAddress("192.0.2.\(index)")!,
                    vtepMAC: MACAddress("02:00:00:00:00:\(index < 10 ? "0" : "")\(index)"), hostID: "h\(index)", hostname: "")
    }

    @Test func aNewPeerIsItsNeighbourFDBEntryNexthopAndRouteInOneWrite() throws {
        let kernel = EmptyKernel()
        let plane = OverlayDataPlane(mode: .vxlan, clusterSubnets: [IPNetwork("10.40.0.0/16")!], interfaceIndex: 7)
        try plane.update(NetlinkHandle(transport: kernel), changes: [.init(before: nil, after: peer(2))])
        // First whether another program's nexthop holds the new id (RTM_GETNEXTHOP), then the changes.
        #expect(kernel.writes.map { $0.map(describe) } == [["type 106"], [
            "neigh replace 10.40.2.1 lladdr 02:00:00:00:00:02 dev 7 permanent",
            "fdb replace 02:00:00:00:00:02 dev 7 dst 192.0.2.2 self permanent",
            "nexthop replace id 170394112 via 10.40.2.1 dev 7 onlink proto 83",              // 10.40.2.0 as a number
            "route replace 10.40.2.0/24 nhid 170394112 proto 83",
        ]])
    }

    @Test func aDualStackPeerAddsAnIPv6NeighbourNexthopAndRouteThroughTheSameFDBEntry() throws {
        let kernel = EmptyKernel()
        let plane = OverlayDataPlane(mode: .vxlan, clusterSubnets: [IPNetwork("10.40.0.0/16")!, IPNetwork("fd40::/48")!], interfaceIndex: 7)
        var dual = peer(2)
        dual.subnet6 = IPNetwork("fd40:0:0:2::/64")
        var outside = peer(3)
        outside.subnet6 = IPNetwork("fd99:0:0:3::/64")
        try plane.update(NetlinkHandle(transport: kernel), changes: [.init(before: nil, after: dual), .init(before: nil, after: outside)])
        // The three new nexthop ids looked up in one write, then the changes in another.
        #expect(kernel.writes.map(\.count) == [3, 11])
        let lines = kernel.writes.last!.map(describe)
        #expect(Array(lines.prefix(7)) == [
            "neigh replace 10.40.2.1 lladdr 02:00:00:00:00:02 dev 7 permanent",
            "neigh replace fd40:0:0:2::1 lladdr 02:00:00:00:00:02 dev 7 permanent",
            "fdb replace 02:00:00:00:00:02 dev 7 dst 192.0.2.2 self permanent",
            "nexthop replace id 170394112 via 10.40.2.1 dev 7 onlink proto 83",
            "nexthop replace id 170394113 via fd40:0:0:2::1 dev 7 onlink proto 83",     // one more: the IPv4 id's low bits are free
            "route replace 10.40.2.0/24 nhid 170394112 proto 83",
            "route replace fd40:0:0:2::/64 nhid 170394113 proto 83",
        ])
        // A share outside the overlay's IPv6 range is not routed: IPv4 only for peer 3.
        #expect(lines.count == 11 && !lines.dropFirst(7).contains { $0.contains("fd99") })
    }

    @Test func aMovedPeerRewritesOnlyItsFDBEntryAndALeavingOneGoesRouteFirst() throws {
        let kernel = EmptyKernel()
        let plane = OverlayDataPlane(mode: .vxlan, clusterSubnets: [IPNetwork("10.40.0.0/16")!], interfaceIndex: 7)
        var moved = peer(2)
        moved.underlayIP = IPAddress("192.0.2.22")!
        try plane.update(NetlinkHandle(transport: kernel), changes: [.init(before: peer(2), after: moved), .init(before: peer(3), after: nil)])
        #expect(kernel.writes.count == 1)
        let lines = kernel.writes.flatMap { $0 }.map(describe)
        #expect(lines.count == 6)
        guard lines.count == 6 else { return }
        // No packet may take a route whose next hop is being removed: routes go first.
        #expect(lines[0] == "route delete 10.40.3.0/24 via - dev 0 proto 0")
        #expect(lines[1] == "nexthop delete id 170394368")
        #expect(Set(lines[2...3]) == ["fdb delete 02:00:00:00:00:02 dev 7 dst 192.0.2.2 self permanent",
                                      "fdb delete 02:00:00:00:00:03 dev 7 dst 192.0.2.3 self permanent"])
        #expect(lines[4] == "neigh delete 10.40.3.1 lladdr 02:00:00:00:00:03 dev 7 permanent")
        #expect(lines[5] == "fdb replace 02:00:00:00:00:02 dev 7 dst 192.0.2.22 self permanent")
    }

    @Test func startUpWritesPeerByPeerInBatchesOfAHundredChanges() throws {
        let kernel = EmptyKernel()
        let plane = OverlayDataPlane(mode: .vxlan, clusterSubnets: [IPNetwork("10.40.0.0/16")!], interfaceIndex: 7)
        let peers = (1...50).map(peer)
        try plane.reconcile(NetlinkHandle(transport: kernel), peers: peers)
        // Four dumps (neighbours, FDB, nexthops, routes: the kernel is empty), the 50 new nexthop
        // ids looked up in one write, then 200 changes in two writes.
        #expect(kernel.writes.count == 7 && kernel.writes[4].count == 50)
        let changes = kernel.writes.dropFirst(5)
        #expect(changes.map(\.count) == [100, 100])
        let lines = changes.flatMap { $0 }.map(describe)
        for (index, peer) in peers.enumerated() {
            let id = OverlayDataPlane.nexthopID(of: peer.subnet)
            #expect(lines[4 * index] == "neigh replace \(peer.gateway) lladdr \(peer.vtepMAC!) dev 7 permanent")
            #expect(lines[4 * index + 1] == "fdb replace \(peer.vtepMAC!) dev 7 dst \(peer.underlayIP) self permanent")
            #expect(lines[4 * index + 2] == "nexthop replace id \(id) via \(peer.gateway) dev 7 onlink proto 83")
            #expect(lines[4 * index + 3] == "route replace \(peer.subnet) nhid \(id) proto 83")
        }
    }
}
