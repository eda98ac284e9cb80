import Glibc
import IPAM
@testable import Netlink
import Testing

/// Replies as the kernel sends them, parsed without a socket.
@Suite("Reply parsing")
struct ParsingTests {
    private static let errorType: UInt16 = 2, doneType: UInt16 = 3
    private static let capped: UInt16 = 0x100, ackTLVs: UInt16 = 0x200, multi: UInt16 = 0x2, dumpInterrupted: UInt16 = 0x10

    /// NLMSG_ERROR for a request, capped (NETLINK_CAP_ACK) or echoing the whole request.
    private func errorReply(_ errno: Int32, extack: String?, request: [UInt8], capped: Bool, sequence: UInt32 = 1) -> NetlinkMessage {
        let echoed = capped ? Array(request.prefix(16)) : request
        var flags: UInt16 = capped ? Self.capped : 0
        var tlvs: [UInt8] = []
        if let extack {
            flags |= Self.ackTLVs
            tlvs = attribute(1, string: extack) + attribute(2, u32: 32)  // NLMSGERR_ATTR_MSG, _OFFS
        }
        return NetlinkMessage(bytes: message(type: Self.errorType, flags: flags, sequence: sequence, portID: 99,
                                             le32(UInt32(bitPattern: -errno)), echoed, tlvs))
    }

    @Test func errorWithExtendedAck() {
        let request = LinkMessage.create(LinkSpec(name: "br0", kind: .bridge())).bytes
        for capped in [true, false] {
            let reply = errorReply(EEXIST, extack: "Device already exists", request: request, capped: capped)
            #expect(reply.status.errno == EEXIST)
            #expect(reply.status.extendedAck == "Device already exists")
        }
        let plain = errorReply(ENODEV, extack: nil, request: request, capped: true)
        #expect(plain.status.errno == ENODEV)
        #expect(plain.status.extendedAck == nil)
        let ack = errorReply(0, extack: nil, request: request, capped: true)
        #expect(ack.status.errno == 0)
    }

    @Test func errorDescriptions() {
        let error = NetlinkError(operation: "create link veth0", errno: EEXIST, extendedAck: "Device already exists")
        #expect(error.description == "create link veth0: File exists (Device already exists)")
        #expect(error.isExists && !error.isNotFound)
        let missing = NetlinkError(operation: "delete link 9", errno: ENODEV)
        #expect(missing.description == "delete link 9: No such device")
        #expect(missing.isNotFound)
    }

    @Test func trackerFollowsAnAckedRequest() {
        var request = LinkMessage.delete(index: 4).bytes
        request.replaceSubrange(8..<12, with: le32(7))
        var tracker = ReplyTracker(request: NetlinkMessage(bytes: request), portID: 99)
        // A late reply to an earlier request is skipped.
        #expect(tracker.consume(errorReply(EEXIST, extack: nil, request: request, capped: true, sequence: 6)) == nil)
        #expect(!tracker.finished)
        _ = tracker.consume(errorReply(ENODEV, extack: "no", request: request, capped: true, sequence: 7))
        #expect(tracker.finished)
        #expect(tracker.failure?.errno == ENODEV)
        #expect(tracker.failure?.extendedAck == "no")
    }

    @Test func trackerFollowsAnInterruptedDumpToItsEnd() {
        var request = LinkMessage.dump().bytes
        request.replaceSubrange(8..<12, with: le32(3))
        var tracker = ReplyTracker(request: NetlinkMessage(bytes: request), portID: 99)
        let link = NetlinkMessage(bytes: message(type: Wire.newLink, flags: Self.multi, sequence: 3, portID: 99,
                                                 ifinfo(index: 1), attribute(3, string: "lo")))
        #expect(tracker.consume(link) != nil)
        let changed = NetlinkMessage(bytes: message(type: Wire.newLink, flags: Self.multi | Self.dumpInterrupted, sequence: 3,
                                                    portID: 99, ifinfo(index: 2), attribute(3, string: "eth0")))
        #expect(tracker.consume(changed) != nil)
        #expect(tracker.interrupted && !tracker.finished)
        _ = tracker.consume(NetlinkMessage(bytes: message(type: Self.doneType, flags: Self.multi, sequence: 3, portID: 99, le32(0))))
        #expect(tracker.finished)
        #expect(tracker.failure == nil)
    }

    @Test func doneCanCarryAnError() {
        let done = NetlinkMessage(bytes: message(type: Self.doneType, flags: Self.multi | Self.ackTLVs, sequence: 1,
                                                 le32(UInt32(bitPattern: -ENOENT)), attribute(1, string: "ipv4: FIB table does not exist")))
        #expect(done.status.errno == ENOENT)
        #expect(done.status.extendedAck == "ipv4: FIB table does not exist")
    }

    @Test func splitsABufferIntoMessages() {
        let first = message(type: Wire.newLink, flags: Self.multi, sequence: 1, ifinfo(index: 1), attribute(3, string: "lo"))
        let second = message(type: Self.doneType, flags: Self.multi, sequence: 1, le32(0))
        let buffer = first + second + [1, 2, 3]  // a truncated tail is not a message
        let messages = buffer.withUnsafeBytes { NetlinkMessage.split($0) }
        #expect(messages.map(\.type) == [Wire.newLink, Self.doneType])
        #expect(messages.first?.bytes == first)
    }

    @Test func parsesAVXLANLink() throws {
        let mac: [UInt8] = [0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]
        let bytes = message(
            type: Wire.newLink, flags: 0, sequence: 1,
            ifinfo(family: 0, index: 12, flags: 0x1043, change: 0),      // UP|BROADCAST|RUNNING|MULTICAST
            attribute(3, string: "vx5"),
            attribute(13, u32: 1000),                                    // IFLA_TXQLEN
            attribute(16, [6]),                                          // IFLA_OPERSTATE up
            attribute(4, u32: 1450),
            attribute(27, u32: 9),                                       // IFLA_GROUP
            attribute(10, u32: 3),                                       // IFLA_MASTER
            attribute(1, mac),
            attribute(99, [1, 2, 3, 4]),                                 // unknown to us: skipped
            nest(18, attribute(1, string: "vxlan"),
                 nest(2, attribute(1, u32: 5), attribute(4, [10, 0, 0, 1]), attribute(3, u32: 0),
                      attribute(7, [0]), attribute(15, [0x12, 0xb5]), attribute(5, [0]))))
        let link = try #require(LinkMessage.parse(NetlinkMessage(bytes: bytes)))
        #expect(link.index == 12 && link.name == "vx5" && link.mtu == 1450 && link.isUp)
        #expect(link.operState == .up && link.group == 9 && link.masterIndex == 3 && link.txQueueLength == 1000)
        #expect(link.mac == MACAddress(bytes: mac))
        #expect(link.kind == .vxlan && link.linkIndex == nil && link.linkNetnsID == nil)
        #expect(link.vxlan == VXLANOptions(vni: 5, port: 4789, local: IPAddress("10.0.0.1"), learning: false, ttl: 0))
    }

    @Test func requestsParseBackToWhatTheyDescribe() throws {
        let route = Route(destination: IPNetwork("fd00:1::/64")!, gateway: IPAddress("fd00::1"), outputInterface: 3,
                          table: 300, metric: 7, preferredSource: IPAddress("fd00::2"))
        #expect(RouteMessage.parse(NetlinkMessage(bytes: RouteMessage.add(route, replace: false).bytes)) == route)
        let onLink = Route.defaultRoute(via: IPAddress("10.0.0.1")!, outputInterface: 2, onLink: true)
        #expect(RouteMessage.parse(NetlinkMessage(bytes: RouteMessage.add(onLink, replace: true).bytes)) == onLink)

        let neighbor = Neighbor(interfaceIndex: 4, address: IPAddress("fd00::9")!, mac: MACAddress("02:00:00:00:00:01"))
        #expect(NeighborMessage.parse(NetlinkMessage(bytes: NeighborMessage.add(neighbor, replace: true).bytes)) == neighbor)

        let entry = FDBEntry(interfaceIndex: 6, mac: MACAddress("02:00:00:00:00:02")!, destination: IPAddress("192.0.2.1"),
                             vni: 9, port: 8472, state: .static)
        #expect(NeighborMessage.parseFDB(NetlinkMessage(bytes: NeighborMessage.addFDB(entry, replace: true).bytes)) == entry)

        let address = InterfaceAddress(address: IPAddress("10.1.0.5")!, prefixLength: 16)!
        let entryBack = AddressMessage.parse(NetlinkMessage(bytes: AddressMessage.add(address, interfaceIndex: 2, noDAD: false).bytes))
        #expect(entryBack?.address == address && entryBack?.interfaceIndex == 2)
    }

    @Test func truncatedMessagesAreRejectedNotMisread() {
        let full = message(type: Wire.newLink, flags: 0, ifinfo(index: 1), attribute(3, string: "lo"))
        #expect(LinkMessage.parse(NetlinkMessage(bytes: Array(full.prefix(20)))) == nil)
        #expect(RouteMessage.parse(NetlinkMessage(bytes: full)) == nil)  // wrong type
    }
}

/// Read-only, unprivileged: the handle for the process's own namespace works.
@Test func currentNamespaceHandleReadsLoopback() throws {
    let loopback = try #require(try NetlinkHandle().link(named: "lo"))
    #expect(loopback.index == 1)
    #expect(loopback.kind == nil)
}

@Suite("MAC addresses")
struct MACAddressTests {
    @Test func parsesAndFormats() throws {
        let mac = try #require(MACAddress("AA:bb:0C:dd:ee:0f"))
        #expect(mac.bytes == [0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f])
        #expect(mac.description == "aa:bb:0c:dd:ee:0f")
        #expect(MACAddress(mac.description) == mac)
        for bad in ["", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "a:bb:cc:dd:ee:ff", "aabb:cc:dd:ee:ff:"] {
            #expect(MACAddress(bad) == nil, "\(bad)")
        }
        #expect(MACAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func randomIsLocalUnicast() {
        let macs = (0..<64).map { _ in MACAddress.random() }
        #expect(macs.allSatisfy { $0.bytes[0] & 0x01 == 0 && $0.bytes[0] & 0x02 != 0 })
        #expect(Set(macs).count > 60)
    }

    @Test func interfaceKindsKeepTheKernelsNames() {
        for name in ["bridge", "veth", "vxlan", "macvlan", "vlan", "dummy"] {
            #expect(InterfaceKind(kernelName: name).description == name)
        }
        #expect(InterfaceKind(kernelName: "bridge") == .bridge)
        #expect(InterfaceKind(kernelName: "dummy") == .other("dummy"))
    }
}
