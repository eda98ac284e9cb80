import CMnl
import Glibc

/// One request as a value: the message, what it does (for errors), and whether the kernel
/// answers it. A single call and a batch take the same value, so each operation is written once.
public struct NetlinkRequest: Sendable {
    package let bytes: [UInt8]
    package let operation: String
    /// False for messages the kernel never answers (nfnetlink's batch begin and end markers).
    package let expectsReply: Bool

    package init(_ message: MessageBuilder, operation: String) {
        self.init(bytes: message.bytes, operation: operation)
    }

    package init(bytes: [UInt8], operation: String, expectsReply: Bool = true) {
        self.bytes = bytes
        self.operation = operation
        self.expectsReply = expectsReply
    }

    /// The same request with NLM_F_ACK set (every change of an nftables batch is acknowledged).
    package var acknowledged: NetlinkRequest {
        var bytes = bytes
        bytes[6] |= UInt8(NLM_F_ACK)
        return NetlinkRequest(bytes: bytes, operation: operation, expectsReply: expectsReply)
    }
}

/// Sequenced requests and their replies over one transport: the request/reply logic that
/// rtnetlink, nftables and conntrack share. Not thread-safe: one per thread or task.
package final class NetlinkChannel {
    package let transport: any MessageTransport
    /// The sequence number of the next request.
    private var nextSequence: UInt32

    package init(transport: any MessageTransport, firstSequence: UInt32 = 1) {
        self.transport = transport
        nextSequence = firstSequence
    }

    /// Sends a change and waits for the kernel's ack.
    package func execute(_ request: NetlinkRequest) throws(NetlinkError) {
        try execute([request])
    }

    /// Sends every request in one write and waits for all their answers. The kernel runs
    /// rtnetlink requests in order and attempts each even when an earlier one failed; the
    /// first failure is thrown.
    package func execute(_ requests: [NetlinkRequest]) throws(NetlinkError) {
        guard !requests.isEmpty else { return }
        let outcomes = try exchange(requests) { _, _ in }
        for (outcome, request) in zip(outcomes, requests) {
            if let failure = outcome.failure { throw NetlinkError(request.operation, failure) }
        }
    }

    /// Sends a get request for one object and returns its reply, nil if the kernel says it
    /// does not exist (the errno values in `notFound`).
    package func fetch<T>(_ request: NetlinkRequest, notFound: Set<Int32>, parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> T? {
        var result: T?
        let outcome = try exchange([request]) { _, message in result = parse(message) }[0]
        if let failure = outcome.failure {
            if notFound.contains(failure.errno) { return nil }
            throw NetlinkError(request.operation, failure)
        }
        return result
    }

    /// Runs a dump and parses every object of it. When the kernel reports that the data
    /// changed while it was being dumped (NLM_F_DUMP_INTR), the whole dump is read again.
    package func dump<T>(_ request: NetlinkRequest, parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> [T] {
        let attempts = 4
        for _ in 0..<attempts {
            var results: [T] = []
            let outcome = try exchange([request]) { _, message in
                if let item = parse(message) { results.append(item) }
            }[0]
            if let failure = outcome.failure { throw NetlinkError(request.operation, failure) }
            if !outcome.interrupted { return results }
        }
        throw NetlinkError(operation: request.operation, errno: EINTR,
                           extendedAck: "dump interrupted by concurrent changes \(attempts) times")
    }

    /// Sends the requests (one write, consecutive sequence numbers written into them) and
    /// reads until each is answered, or, with `untilFirstFailure`, until one fails. Data
    /// messages go to `onMessage` with the index of their request. Socket failures throw;
    /// the kernel's verdict on each request is returned.
    package func exchange(_ requests: [NetlinkRequest], untilFirstFailure: Bool = false,
                          onMessage: (Int, NetlinkMessage) -> Void) throws(NetlinkError) -> [ReplyTracker] {
        var buffer: [UInt8] = []
        var trackers: [ReplyTracker] = []
        let firstSequence = nextSequence
        for request in requests {
            var bytes = request.bytes
            withUnsafeBytes(of: nextSequence) { bytes.replaceSubrange(8..<12, with: $0) }
            nextSequence &+= 1
            trackers.append(ReplyTracker(request: NetlinkMessage(bytes: bytes), portID: transport.portID,
                                         expectsReply: request.expectsReply))
            buffer += bytes
        }
        let operation = requests[0].operation
        try transport.send(buffer, operation: operation)
        while !trackers.allSatisfy(\.finished) {
            if untilFirstFailure && trackers.contains(where: { $0.failure != nil }) { break }
            for message in try transport.receive(operation: operation) {
                // Anything outside this exchange's sequence numbers is a leftover: skipped.
                let position = Int(message.sequence &- firstSequence)
                guard position < trackers.count else { continue }
                if let data = trackers[position].consume(message) { onMessage(position, data) }
            }
        }
        return trackers
    }
}

extension NetlinkError {
    package init(_ operation: String, _ failure: (errno: Int32, extendedAck: String?)) {
        self.init(operation: operation, errno: failure.errno, extendedAck: failure.extendedAck)
    }
}

/// Follows the replies to one request: which messages are its data, and when and how it ended.
package struct ReplyTracker {
    package let sequence: UInt32
    package let portID: UInt32
    package let isDump: Bool
    package let wantsAck: Bool
    package private(set) var finished: Bool
    package private(set) var interrupted = false
    package private(set) var failure: (errno: Int32, extendedAck: String?)?

    package init(request: NetlinkMessage, portID: UInt32, expectsReply: Bool = true) {
        sequence = request.sequence
        self.portID = portID
        isDump = request.flags & UInt16(NLM_F_DUMP) == UInt16(NLM_F_DUMP)
        wantsAck = request.flags & UInt16(NLM_F_ACK) != 0
        finished = !expectsReply
    }

    /// Takes the next received message; returns it when it is data for the caller.
    package mutating func consume(_ message: NetlinkMessage) -> NetlinkMessage? {
        // Leftovers of an earlier request, or not from the kernel: not ours.
        guard !finished, message.sequence == sequence, message.portID == portID || message.portID == 0 else { return nil }
        if message.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
        switch Int32(message.type) {
        case NLMSG_ERROR, NLMSG_DONE:
            let status = message.status
            if status.errno != 0 { failure = status }
            finished = true
            return nil
        case NLMSG_NOOP:
            return nil
        default:
            // A get without NLM_F_ACK is answered by exactly one message.
            if !isDump && !wantsAck { finished = true }
            return message
        }
    }
}
