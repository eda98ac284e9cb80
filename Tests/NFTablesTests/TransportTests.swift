import Glibc
@testable import NFTables
import NetlinkTransport
import Testing

/// Answers an nftables batch as the kernel does: nothing for the begin and end markers, an
/// ack or an error for each change. Records every write. No socket, no privileges.
private final class BatchAnswerer: MessageTransport {
    let portID: UInt32 = 77
    private(set) var writes: [[UInt8]] = []
    private var queued: [NetlinkMessage] = []
    let errnoFor: (NetlinkMessage) -> Int32

    init(errnoFor: @escaping (NetlinkMessage) -> Int32 = { _ in 0 }) { self.errnoFor = errnoFor }

    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        writes.append(bytes)
        for request in bytes.withUnsafeBytes({ NetlinkMessage.split($0) }) where request.type != 0x10 && request.type != 0x11 {
            let code = UInt32(bitPattern: -errnoFor(request))
            let header = Array(request.bytes.prefix(16))
            var reply = [UInt8](repeating: 0, count: 16) + withUnsafeBytes(of: code) { Array($0) } + header
            withUnsafeBytes(of: UInt32(reply.count)) { reply.replaceSubrange(0..<4, with: $0) }
            reply[4] = 2                                               // NLMSG_ERROR
            reply[6] = 0; reply[7] = 1                                 // NLM_F_CAPPED
            reply.replaceSubrange(8..<12, with: request.bytes[8..<12])
            queued.append(NetlinkMessage(bytes: reply))
        }
    }

    func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        guard !queued.isEmpty else { throw NetlinkError(operation: operation, errno: ETIMEDOUT) }
        defer { queued = [] }
        return queued
    }
}

@Suite("nftables over the shared transport, without a kernel")
struct NFTablesTransportTests {
    let table = Table(family: .ipv4, name: "swnet")

    @Test func aBatchIsOneWriteAndTheMarkersAreNotAwaited() throws {
        let transport = BatchAnswerer()
        let nft = NFTablesHandle(transport: transport)
        var batch = NFTablesBatch()
        batch.add(table)
        batch.add(Chain(table: table, name: "input"))
        let applied = try nft.apply(batch)
        #expect(applied.ruleHandles.isEmpty)
        #expect(transport.writes.count == 1)
        let messages = transport.writes[0].withUnsafeBytes { NetlinkMessage.split($0) }
        #expect(messages.map(\.type) == [0x10, 0x0a00, 0x0a03, 0x11])  // begin, NEWTABLE, NEWCHAIN, end
        let first = messages[0].sequence
        #expect(messages.map(\.sequence) == [first, first &+ 1, first &+ 2, first &+ 3])
        // Every change asks for an ack; the markers do not.
        #expect(messages.map { $0.flags & 0x4 != 0 } == [false, true, true, false])
    }

    @Test func theFailingChangeIsNamed() {
        let nft = NFTablesHandle(transport: BatchAnswerer { $0.type == 0x0a03 ? ENOENT : 0 })
        var batch = NFTablesBatch()
        batch.add(table)
        batch.add(Chain(table: table, name: "input"))
        #expect {
            try nft.apply(batch)
        } throws: { error in
            (error as? NetlinkError)?.operation == "add chain ip swnet input" && (error as? NetlinkError)?.errno == ENOENT
        }
    }

    @Test func existsAsksForOneTable() throws {
        #expect(try NFTablesHandle(transport: BatchAnswerer { _ in ENOENT }).exists(table) == false)
        #expect(try NFTablesHandle(transport: BatchAnswerer()).exists(table) == true)
    }
}
