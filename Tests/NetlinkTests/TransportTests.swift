import Glibc
import IPAM
@testable import Netlink
import NetlinkTransport
import Testing

/// A transport standing in for the kernel: it records every write and answers each request
/// with what `answer` returns (an ack by default). No socket, no privileges.
final class RecordingTransport: MessageTransport {
    let portID: UInt32 = 4242
    private(set) var writes: [[UInt8]] = []
    private var queued: [NetlinkMessage] = []
    var answer: (NetlinkMessage) -> [[UInt8]]

    init(answer: @escaping (NetlinkMessage) -> [[UInt8]] = { [ack($0)] }) {
        self.answer = answer
    }

    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        writes.append(bytes)
        for request in bytes.withUnsafeBytes({ NetlinkMessage.split($0) }) {
            queued += answer(request).map(NetlinkMessage.init(bytes:))
        }
    }

    func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        // The kernel would block; a test that waits for more than was answered is wrong.
        guard !queued.isEmpty else { throw NetlinkError(operation: operation, errno: ETIMEDOUT) }
        defer { queued = [] }
        return queued
    }

    /// The requests of every write, one by one.
    var requests: [NetlinkMessage] { writes.flatMap { write in write.withUnsafeBytes { NetlinkMessage.split($0) } } }
}

/// NLMSG_ERROR for `request` as a socket with NETLINK_CAP_ACK gets it: errno 0 is an ack.
func ack(_ request: NetlinkMessage, errno: Int32 = 0, extendedAck: String? = nil) -> [UInt8] {
    var flags: UInt16 = 0x100                                   // NLM_F_CAPPED
    var tlvs: [UInt8] = []
    if let extendedAck {
        flags |= 0x200                                          // NLM_F_ACK_TLVS
        tlvs = attribute(1, string: extendedAck)                // NLMSGERR_ATTR_MSG
    }
    return message(type: 2, flags: flags, sequence: request.sequence, portID: request.portID,
                   le32(UInt32(bitPattern: -errno)), Array(request.bytes.prefix(16)), tlvs)
}

/// NLMSG_DONE closing a dump, with the DUMP_INTR flag when the data changed meanwhile.
func done(_ request: NetlinkMessage, interrupted: Bool = false) -> [UInt8] {
    message(type: 3, flags: 0x2 | (interrupted ? 0x10 : 0), sequence: request.sequence, le32(0))
}

/// What NetlinkHandle puts on the wire through the shared channel, compared with the wire
/// format written out by hand: sequence numbers, one write per batch, which failure is
/// reported, dump retries. The verbs of SwnetCore send exactly these requests.
@Suite("Transport: requests on the wire, without a kernel")
struct TransportTests {
    @Test func aBatchIsOneWriteNumberedInOrder() throws {
        let transport = RecordingTransport()
        let netlink = NetlinkHandle(transport: transport)
        let address = InterfaceAddress("10.0.0.2/24")!
        var batch = NetlinkBatch()
        batch.setLink(index: 7, LinkChanges(up: true))
        batch.addAddress(address, interfaceIndex: 7)
        try netlink.execute(batch)
        try netlink.execute(.deleteLink(index: 9))

        #expect(transport.writes.count == 2)
        let expected = message(type: Wire.newLink, flags: Wire.request | Wire.ack, sequence: 1,
                               ifinfo(index: 7, flags: 1, change: 1))
            + message(type: Wire.newAddress, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack, sequence: 2,
                      [2, 24, 0, 0] + le32(7),                           // ifaddrmsg: AF_INET /24, index 7
                      attribute(2, [10, 0, 0, 2]),                       // IFA_LOCAL
                      attribute(1, [10, 0, 0, 2]),                       // IFA_ADDRESS
                      attribute(4, [10, 0, 0, 255]))                     // IFA_BROADCAST
        #expect(transport.writes[0] == expected)
        #expect(transport.writes[1] == message(type: 17, flags: Wire.request | Wire.ack, sequence: 3, ifinfo(index: 9)))
    }

    @Test func theFirstFailureOfABatchNamesItsRequest() {
        let transport = RecordingTransport { request in
            request.type == Wire.newRoute ? [ack(request, errno: ENETUNREACH, extendedAck: "Nexthop has invalid gateway")] : [ack(request)]
        }
        let netlink = NetlinkHandle(transport: transport)
        var batch = NetlinkBatch()
        batch.setLink(named: "eth0", LinkChanges(up: true))
        batch.addRoute(Route.defaultRoute(via: IPAddress("10.0.0.1")!))
        batch.replaceRoute(Route.defaultRoute(via: IPAddress("10.0.0.254")!))
        #expect {
            try netlink.execute(batch)
        } throws: { error in
            let error = error as! NetlinkError
            return error.operation == "add route 0.0.0.0/0" && error.errno == ENETUNREACH
                && error.extendedAck == "Nexthop has invalid gateway"
        }
        #expect(transport.writes.count == 1)
    }

    @Test func aMissingObjectIsNilNotAnError() throws {
        let transport = RecordingTransport { [ack($0, errno: ENODEV)] }
        let netlink = NetlinkHandle(transport: transport)
        #expect(try netlink.link(named: "eth9") == nil)
        #expect(transport.writes == [message(type: Wire.getLink, flags: Wire.request, sequence: 1,
                                             ifinfo(), attribute(3, string: "eth9"), attribute(29, u32: 8))])  // IFLA_EXT_MASK: skip stats
    }

    @Test func anInterruptedDumpIsReadAgain() throws {
        var dumps = 0
        let transport = RecordingTransport { request in
            dumps += 1
            let address = message(type: Wire.newAddress, flags: 0x2, sequence: request.sequence, portID: request.portID,
                                  [2, 8, 0, 0] + le32(1), attribute(2, [127, 0, 0, 1]))
            return [address, done(request, interrupted: dumps == 1)]
        }
        let netlink = NetlinkHandle(transport: transport)
        let addresses = try netlink.addresses(family: .v4)
        #expect(dumps == 2)
        #expect(addresses.map(\.address.description) == ["127.0.0.1/8"])
        #expect(transport.requests.map(\.sequence) == [1, 2])
    }

    @Test func aDumpInterruptedEveryTimeGivesUp() {
        let netlink = NetlinkHandle(transport: RecordingTransport { [done($0, interrupted: true)] })
        #expect(throws: NetlinkError.self) { try netlink.links() }
    }

    @Test func repliesToEarlierRequestsAndOtherPortsAreSkipped() throws {
        let transport = RecordingTransport { request in
            var stale = ack(request, errno: EEXIST)
            stale.replaceSubrange(8..<12, with: le32(request.sequence &- 1))   // an earlier request's
            var foreign = ack(request, errno: EPERM)
            foreign.replaceSubrange(12..<16, with: le32(7))                     // another socket's port
            return [stale, foreign, ack(request)]
        }
        try NetlinkHandle(transport: transport).execute(.deleteLink(named: "veth0"))
    }
}
