import CMnl
import CSwnetShims
import Glibc

/// An rtnetlink socket bound to one network namespace. Every call is one request and its
/// replies; the handle is not thread-safe (use one per thread or task).
public final class NetlinkHandle {
    let socket: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32 = 0
    /// Large enough for the biggest dump batch the kernel builds for rtnetlink (32 KiB).
    private let receiveBuffer: UnsafeMutableRawBufferPointer

    /// A handle for the namespace this process runs in.
    public convenience init() throws(NetlinkError) {
        guard let socket = mnl_socket_open2(NETLINK_ROUTE, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError(operation: "open netlink socket", errno: errno)
        }
        try self.init(socket: socket)
    }

    /// A handle for another namespace. Only the socket is created there (on a private
    /// thread); no thread of this process changes namespace.
    public convenience init(namespace: NetworkNamespace) throws(NetlinkError) {
        try self.init(namespace: namespace, netlinkProtocol: NETLINK_ROUTE)
    }

    /// A handle speaking another netlink protocol (e.g. NETLINK_NETFILTER for conntrack).
    convenience init(namespace: NetworkNamespace?, netlinkProtocol: Int32) throws(NetlinkError) {
        guard let namespace else {
            guard let socket = mnl_socket_open2(netlinkProtocol, Int32(SOCK_CLOEXEC.rawValue)) else {
                throw NetlinkError(operation: "open netlink socket", errno: errno)
            }
            try self.init(socket: socket)
            return
        }
        let fd = swnet_socket_in_netns(namespace.fd, AF_NETLINK, Int32(SOCK_RAW.rawValue), netlinkProtocol)
        guard fd >= 0 else { throw NetlinkError(operation: "open netlink socket in namespace", errno: -fd) }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = errno
            close(fd)
            throw NetlinkError(operation: "open netlink socket in namespace", errno: error)
        }
        try self.init(socket: socket)
    }

    /// Takes ownership of the socket: configures and binds it, or closes it and throws.
    private init(socket: OpaquePointer) throws(NetlinkError) {
        do {
            try Self.configure(socket)
        } catch {
            mnl_socket_close(socket)
            throw error
        }
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
        receiveBuffer = .allocate(byteCount: 32 * 1024, alignment: 8)
    }

    private static func configure(_ socket: OpaquePointer) throws(NetlinkError) {
        var one: Int32 = 1
        // Extended acks explain errors; strict checking makes the kernel filter dumps
        // (by index, table, …) and reject requests it would silently misread; capped acks
        // keep error replies from echoing the whole request.
        for option in [NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK] {
            guard mnl_socket_setsockopt(socket, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw NetlinkError(operation: "configure netlink socket", errno: errno)
            }
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            throw NetlinkError(operation: "bind netlink socket", errno: errno)
        }
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
    }

    /// Sends a request that changes something and waits for the kernel's ack.
    func execute(_ request: MessageBuilder, operation: String) throws(NetlinkError) {
        let outcome = try exchange([request], operation: operation) { _ in }[0]
        if let failure = outcome.failure { throw NetlinkError(operation: operation, errno: failure.errno, extendedAck: failure.extendedAck) }
    }

    /// Sends every request of the batch in one write and waits for all their acks. The
    /// kernel runs them in order and attempts each even when an earlier one failed; the
    /// first failure is thrown.
    public func execute(_ batch: NetlinkBatch) throws(NetlinkError) {
        guard !batch.requests.isEmpty else { return }
        let outcomes = try exchange(batch.requests.map(\.message), operation: batch.requests[0].operation) { _ in }
        for (outcome, request) in zip(outcomes, batch.requests) {
            if let failure = outcome.failure {
                throw NetlinkError(operation: request.operation, errno: failure.errno, extendedAck: failure.extendedAck)
            }
        }
    }

    /// Sends a get request for one object and returns its reply, nil if the kernel says
    /// it does not exist (the errno values in `notFound`).
    func fetch<T>(_ request: MessageBuilder, operation: String, notFound: Set<Int32>,
                  parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> T? {
        var result: T?
        let outcome = try exchange([request], operation: operation) { message in result = parse(message) }[0]
        if let failure = outcome.failure {
            if notFound.contains(failure.errno) { return nil }
            throw NetlinkError(operation: operation, errno: failure.errno, extendedAck: failure.extendedAck)
        }
        return result
    }

    /// Runs a dump and parses every object of it. When the kernel reports that the data
    /// changed while it was being dumped (NLM_F_DUMP_INTR), the whole dump is read again.
    func dump<T>(_ request: MessageBuilder, operation: String,
                 parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> [T] {
        let attempts = 4
        for _ in 0..<attempts {
            var results: [T] = []
            let outcome = try exchange([request], operation: operation) { message in
                if let item = parse(message) { results.append(item) }
            }[0]
            if let failure = outcome.failure {
                throw NetlinkError(operation: operation, errno: failure.errno, extendedAck: failure.extendedAck)
            }
            if !outcome.interrupted { return results }
        }
        throw NetlinkError(operation: operation, errno: EINTR,
                           extendedAck: "dump interrupted by concurrent changes \(attempts) times")
    }

    /// Requests (one write, consecutive sequence numbers) and all their replies. Socket
    /// failures throw; the kernel's verdict on each request is returned.
    private func exchange(_ requests: [MessageBuilder], operation: String,
                          onMessage: (NetlinkMessage) -> Void) throws(NetlinkError) -> [ReplyTracker] {
        var buffer: [UInt8] = []
        var trackers: [ReplyTracker] = []
        for request in requests {
            sequence &+= 1
            var bytes = request.bytes
            withUnsafeBytes(of: sequence) { bytes.replaceSubrange(8..<12, with: $0) }
            trackers.append(ReplyTracker(request: NetlinkMessage(bytes: bytes), portID: portID))
            buffer += bytes
        }
        let sent = buffer.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent >= 0 else { throw NetlinkError(operation: operation, errno: errno) }

        let firstSequence = trackers[0].sequence
        while !trackers.allSatisfy(\.finished) {
            let received = mnl_socket_recvfrom(socket, receiveBuffer.baseAddress, receiveBuffer.count)
            if received < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(operation: operation, errno: errno)
            }
            for message in NetlinkMessage.split(UnsafeRawBufferPointer(rebasing: receiveBuffer[..<received])) {
                // Anything outside this exchange's sequence numbers is a leftover: skipped.
                let position = Int(message.sequence &- firstSequence)
                guard position < trackers.count else { continue }
                if let data = trackers[position].consume(message) { onMessage(data) }
            }
        }
        return trackers
    }
}

/// Follows the replies to one request: which messages are its data, and when and how it ended.
struct ReplyTracker {
    let sequence: UInt32
    let portID: UInt32
    let isDump: Bool
    let wantsAck: Bool
    private(set) var finished = false
    private(set) var interrupted = false
    private(set) var failure: (errno: Int32, extendedAck: String?)?

    init(request: NetlinkMessage, portID: UInt32) {
        sequence = request.sequence
        self.portID = portID
        isDump = request.flags & UInt16(NLM_F_DUMP) == UInt16(NLM_F_DUMP)
        wantsAck = request.flags & UInt16(NLM_F_ACK) != 0
    }

    /// Takes the next received message; returns it when it is data for the caller.
    mutating func consume(_ message: NetlinkMessage) -> NetlinkMessage? {
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
