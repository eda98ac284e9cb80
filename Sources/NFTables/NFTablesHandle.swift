import CMnl
import CNftnl
import CSwnetShims
import Glibc
import Netlink

/// An nftables (nfnetlink) socket bound to one network namespace. Changes go out as
/// atomic batches; reads are dumps. Not thread-safe: use one per thread or task.
public final class NFTablesHandle {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    private var receiveBufferSize = 0
    private var sendBufferSize = 0

    /// A handle for the namespace this process runs in.
    public convenience init() throws(NetlinkError) {
        guard let socket = mnl_socket_open2(NETLINK_NETFILTER, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError(operation: "open nftables socket", errno: errno)
        }
        try self.init(socket: socket)
    }

    /// A handle for another namespace. Only the socket is created there (on a private
    /// thread); no thread of this process changes namespace.
    public convenience init(namespace: NetworkNamespace) throws(NetlinkError) {
        let fd = swnet_socket_in_netns(namespace.fd, AF_NETLINK, Int32(SOCK_RAW.rawValue), NETLINK_NETFILTER)
        guard fd >= 0 else { throw NetlinkError(operation: "open nftables socket in namespace", errno: -fd) }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = errno
            close(fd)
            throw NetlinkError(operation: "open nftables socket in namespace", errno: error)
        }
        try self.init(socket: socket)
    }

    private init(socket: OpaquePointer) throws(NetlinkError) {
        var one: Int32 = 1
        // Extended acks explain errors; capped acks keep them from echoing whole batches.
        for option in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            guard mnl_socket_setsockopt(socket, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let error = errno
                mnl_socket_close(socket)
                throw NetlinkError(operation: "configure nftables socket", errno: error)
            }
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = errno
            mnl_socket_close(socket)
            throw NetlinkError(operation: "bind nftables socket", errno: error)
        }
        self.socket = socket
        portID = mnl_socket_get_portid(socket)
        // Distinct start values keep replies to a handle's requests apart from another's.
        sequence = UInt32(truncatingIfNeeded: time(nil))
        // Dumps come in chunks of at most 32 KiB; twice that leaves room.
        receiveBuffer = .allocate(byteCount: 64 * 1024, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
    }

    private var fd: Int32 { mnl_socket_get_fd(socket) }

    // MARK: Changes

    /// What the kernel reported back for an applied batch.
    public struct Applied: Sendable {
        /// The handles of the rules the batch added, in the order they were added.
        public var ruleHandles: [UInt64]
    }

    /// Applies every change of the batch, or none: if one fails, the kernel rolls the
    /// whole batch back and the error names the change that failed and why.
    @discardableResult
    public func apply(_ batch: NFTablesBatch) throws(NetlinkError) -> Applied {
        guard !batch.isEmpty else { return Applied(ruleHandles: []) }
        let encoded = batch.encode(firstSequence: sequence)
        sequence &+= UInt32(encoded.messageCount)

        // The kernel answers every message (acks carry NLM_F_ACK) and echoes every rule:
        // the socket must hold all of that at once, and take the whole batch in one write.
        try ensureBuffer(SO_RCVBUFFORCE, fallback: SO_RCVBUF, bytes: encoded.messageCount * 1024 + encoded.bytes.count, current: &receiveBufferSize)
        try ensureBuffer(SO_SNDBUFFORCE, fallback: SO_SNDBUF, bytes: encoded.bytes.count + 4096, current: &sendBufferSize)
        let sent = encoded.bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent >= 0 else { throw NetlinkError(operation: "send nftables batch", errno: errno) }

        let last = encoded.firstSequence &+ UInt32(encoded.messageCount - 1)
        var answered = Swift.Set<UInt32>()
        var failures: [(sequence: UInt32, errno: Int32, extendedAck: String?)] = []
        var handles: [UInt32: UInt64] = [:]
        // The begin and end markers are not acknowledged.
        let expected = encoded.messageCount - 2
        try receive(until: { answered.count >= expected || !failures.isEmpty }) { message in
            let seq = message.sequence
            guard seq &- encoded.firstSequence <= last &- encoded.firstSequence else { return }
            if message.type == UInt16(NLMSG_ERROR) {
                let status = message.status
                answered.insert(seq)
                if status.errno != 0 { failures.append((seq, status.errno, status.extendedAck)) }
            } else if message.type == nftablesMessageType(NFT_MSG_NEWRULE) {
                message.withHeader { header in
                    let rule = NftnlRule()
                    if nftnl_rule_nlmsg_parse(header, rule.pointer) >= 0 { handles[seq] = rule.u64(NFTNL_RULE_HANDLE) }
                }
            }
        }
        if let first = failures.min(by: { ($0.sequence &- encoded.firstSequence) < ($1.sequence &- encoded.firstSequence) }) {
            var operation = encoded.descriptions[first.sequence] ?? "nftables batch"
            if failures.count > 1 { operation += " (and \(failures.count - 1) later change(s) failed)" }
            throw NetlinkError(operation: operation, errno: first.errno, extendedAck: first.extendedAck)
        }
        return Applied(ruleHandles: encoded.addedRules.map { handles[$0] ?? 0 })
    }

    private func ensureBuffer(_ option: Int32, fallback: Int32, bytes: Int, current: inout Int) throws(NetlinkError) {
        // The kernel's defaults (~208 KiB) suffice for ordinary batches.
        guard bytes > 200 * 1024, bytes > current else { return }
        var size = Int32(clamping: bytes)
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, option, &size, length) != 0, setsockopt(fd, SOL_SOCKET, fallback, &size, length) != 0 {
            throw NetlinkError(operation: "size nftables socket buffer", errno: errno)
        }
        current = bytes
    }

    /// Reads what the kernel sent until `done()`. The kernel handles a batch within the
    /// send, so its answers are all queued when the send returns; waiting is only a guard.
    private func receive(until done: () -> Bool, _ onMessage: (ReceivedMessage) -> Void) throws(NetlinkError) {
        while !done() {
            let received = recv(fd, receiveBuffer.baseAddress, receiveBuffer.count, Int32(MSG_DONTWAIT))
            if received < 0 {
                switch errno {
                case EINTR:
                    continue
                case EAGAIN:
                    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&descriptor, 1, 5000)
                    if ready == 0 { throw NetlinkError(operation: "wait for nftables answers", errno: ETIMEDOUT) }
                    continue
                default:
                    throw NetlinkError(operation: "receive nftables answers", errno: errno)
                }
            }
            for message in ReceivedMessage.split(UnsafeRawBufferPointer(rebasing: receiveBuffer[..<received]))
            where message.portID == portID || message.portID == 0 {
                onMessage(message)
            }
        }
    }

    // MARK: Reading

    /// Every table, or those of one family.
    public func tables(family: Family? = nil) throws(NetlinkError) -> [Table] {
        try dump(NFT_MSG_GETTABLE, family: family?.rawValue ?? 0, operation: "list tables", parse: Table.init(message:))
    }

    /// Whether the table exists (one GETTABLE, not a dump).
    public func exists(_ table: Table) throws(NetlinkError) -> Bool {
        let seq = nextSequence()
        let request = table.message(NFT_MSG_GETTABLE, flags: NLM_F_ACK, sequence: seq)
        var result: (errno: Int32, extendedAck: String?)?
        try exchange(request, sequence: seq, operation: "get table \(table)") { message in
            if message.type == UInt16(NLMSG_ERROR) { result = message.status }
        } finished: { result != nil }
        switch result!.errno {
        case 0: return true
        case ENOENT: return false
        case let code: throw NetlinkError(operation: "get table \(table)", errno: code, extendedAck: result!.extendedAck)
        }
    }

    public func chains(in table: Table) throws(NetlinkError) -> [Chain] {
        try dump(NFT_MSG_GETCHAIN, family: table.family.rawValue, operation: "list chains of \(table)") { header in
            Chain(message: header).flatMap { $0.table == table ? $0 : nil }
        }
    }

    /// The rules of a table, or of one chain of it, in chain order.
    public func rules(in table: Table, chain: String? = nil) throws(NetlinkError) -> [RuleSummary] {
        let filter = NftnlRule()
        filter.set(NFTNL_RULE_TABLE, string: table.name)
        if let chain { filter.set(NFTNL_RULE_CHAIN, string: chain) }
        return try dump(NFT_MSG_GETRULE, family: table.family.rawValue, operation: "list rules of \(table)",
                        payload: { nftnl_rule_nlmsg_build_payload($0, filter.pointer) }) { header in
            RuleSummary(message: header).flatMap { $0.table == table && (chain == nil || chain == $0.chain) ? $0 : nil }
        }
    }

    /// The sets and maps of a table.
    public func sets(in table: Table) throws(NetlinkError) -> [SetSpec] {
        let filter = NftnlSet()
        filter.set(NFTNL_SET_TABLE, string: table.name)
        return try dump(NFT_MSG_GETSET, family: table.family.rawValue, operation: "list sets of \(table)",
                        payload: { nftnl_set_nlmsg_build_payload($0, filter.pointer) }) { header in
            SetSpec(message: header).flatMap { $0.table == table ? $0 : nil }
        }
    }

    /// The elements of a set or map, with their keys and values as the kernel stores them.
    public func elements(of set: String, in table: Table) throws(NetlinkError) -> [SetElement] {
        let reference = setReference(table: table, name: set)
        let chunks: [[SetElement]] = try dump(NFT_MSG_GETSETELEM, family: table.family.rawValue,
                                              operation: "list elements of \(table) \(set)",
                                              payload: { nftnl_set_elems_nlmsg_build_payload($0, reference.pointer) },
                                              parse: SetElement.elements(message:))
        return chunks.flatMap { $0 }
    }

    // MARK: Requests

    private func nextSequence() -> UInt32 {
        defer { sequence &+= 1 }
        return sequence
    }

    /// Runs a dump and parses each object of it. When the ruleset changed while it was
    /// being dumped (NLM_F_DUMP_INTR), the whole dump is read again.
    private func dump<T>(_ type: nf_tables_msg_types, family: UInt8, operation: String,
                         payload: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in },
                         parse: (UnsafePointer<nlmsghdr>) -> T?) throws(NetlinkError) -> [T] {
        let attempts = 4
        for _ in 0..<attempts {
            let seq = nextSequence()
            let request = nftablesMessage(type, family: family, flags: NLM_F_DUMP, sequence: seq,
                                          sizeBound: 1024, payload: payload)
            var results: [T] = []
            var interrupted = false
            var status: (errno: Int32, extendedAck: String?)?
            try exchange(request, sequence: seq, operation: operation) { message in
                if message.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                switch Int32(message.type) {
                case NLMSG_DONE, NLMSG_ERROR: status = message.status
                default: if let item = message.withHeader(parse) { results.append(item) }
                }
            } finished: { status != nil }
            if let status, status.errno != 0 {
                throw NetlinkError(operation: operation, errno: status.errno, extendedAck: status.extendedAck)
            }
            if !interrupted { return results }
        }
        throw NetlinkError(operation: operation, errno: EINTR, extendedAck: "dump interrupted by concurrent changes \(attempts) times")
    }

    private func exchange(_ request: [UInt8], sequence seq: UInt32, operation: String,
                          onMessage: (ReceivedMessage) -> Void, finished: () -> Bool) throws(NetlinkError) {
        let sent = request.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent >= 0 else { throw NetlinkError(operation: operation, errno: errno) }
        try receive(until: finished) { message in
            if message.sequence == seq { onMessage(message) }
        }
    }
}

func nftablesMessageType(_ type: nf_tables_msg_types) -> UInt16 {
    UInt16(NFNL_SUBSYS_NFTABLES << 8) | UInt16(type.rawValue)
}

/// One message the kernel sent, copied out of the receive buffer.
struct ReceivedMessage {
    let bytes: [UInt8]

    var type: UInt16 { load(UInt16.self, at: 4) ?? 0 }
    var flags: UInt16 { load(UInt16.self, at: 6) ?? 0 }
    var sequence: UInt32 { load(UInt32.self, at: 8) ?? 0 }
    var portID: UInt32 { load(UInt32.self, at: 12) ?? 0 }

    private func load<T>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    func withHeader<R>(_ body: (UnsafePointer<nlmsghdr>) -> R) -> R {
        bytes.withUnsafeBytes { body($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)) }
    }

    /// For NLMSG_ERROR and NLMSG_DONE: a positive errno (0 for an ack or a clean end of
    /// dump) and the kernel's extended-ack text when there is one.
    var status: (errno: Int32, extendedAck: String?) {
        let headerLength = MemoryLayout<nlmsghdr>.size
        let code = load(Int32.self, at: headerLength) ?? 0
        guard flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return (-code, nil) }
        var offset = headerLength + 4
        if type == UInt16(NLMSG_ERROR) {
            // nlmsgerr echoes the request: just its header when capped, all of it otherwise.
            let echoedLength = Int(load(UInt32.self, at: offset) ?? 16)
            offset += flags & UInt16(NLM_F_CAPPED) != 0 ? headerLength : (echoedLength + 3) & ~3
        }
        while offset + 4 <= bytes.count, let length = load(UInt16.self, at: offset), let kind = load(UInt16.self, at: offset + 2),
              length >= 4, offset + Int(length) <= bytes.count {
            if kind & 0x3fff == UInt16(NLMSGERR_ATTR_MSG.rawValue) {
                let text = bytes[(offset + 4)..<(offset + Int(length))].prefix { $0 != 0 }
                return (-code, String(decoding: text, as: UTF8.self))
            }
            offset += (Int(length) + 3) & ~3
        }
        return (-code, nil)
    }

    /// Splits a receive buffer into messages with libmnl's bounds checks.
    static func split(_ buffer: UnsafeRawBufferPointer) -> [ReceivedMessage] {
        guard let base = buffer.baseAddress else { return [] }
        var messages: [ReceivedMessage] = []
        var remaining = Int32(buffer.count)
        var header: UnsafePointer<nlmsghdr>? = base.assumingMemoryBound(to: nlmsghdr.self)
        while let current = header, mnl_nlmsg_ok(current, remaining) {
            let length = min(Int(current.pointee.nlmsg_len), Int(remaining))
            messages.append(ReceivedMessage(bytes: Array(UnsafeRawBufferPointer(start: current, count: length))))
            header = UnsafePointer(mnl_nlmsg_next(current, &remaining))
        }
        return messages
    }
}
