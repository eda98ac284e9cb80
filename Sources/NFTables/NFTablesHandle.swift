import CMnl
import CNftnl
import Glibc
import NetlinkTransport

/// An nftables (nfnetlink) socket bound to one network namespace. Changes go out as
/// atomic batches; reads are dumps. Not thread-safe: use one per thread or task.
public final class NFTablesHandle {
    private let channel: NetlinkChannel

    /// A handle for the namespace this process runs in.
    public convenience init() throws(NetlinkError) {
        try self.init(namespace: nil)
    }

    /// A handle for another namespace. Only the socket is created there (on a private
    /// thread); no thread of this process changes namespace.
    public convenience init(namespace: NetworkNamespace?) throws(NetlinkError) {
        // Extended acks explain errors; capped acks keep them from echoing whole batches.
        // The kernel handles a batch within the send, so its answers are all queued when the
        // send returns: waiting is only a guard. Dumps come in chunks of at most 32 KiB;
        // twice that leaves room.
        let socket = try NetlinkSocket(protocol: NETLINK_NETFILTER, namespace: namespace,
                                       options: [NETLINK_EXT_ACK, NETLINK_CAP_ACK],
                                       wait: .poll(milliseconds: 5000), bufferSize: 64 * 1024, what: "nftables")
        self.init(transport: socket)
    }

    /// A handle over any transport (tests: recorded requests, canned answers).
    package init(transport: any MessageTransport) {
        // Distinct start values keep replies to a handle's requests apart from another's.
        channel = NetlinkChannel(transport: transport, firstSequence: UInt32(truncatingIfNeeded: time(nil)))
    }

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
        // Sequence numbers from 0, so a message's is its index; the channel numbers them anew.
        let encoded = batch.encode(firstSequence: 0)
        let messages = encoded.messages
        let requests = messages.indices.map { index in
            NetlinkRequest(bytes: messages[index], operation: encoded.descriptions[UInt32(index)] ?? "nftables batch",
                           // The begin and end markers are not acknowledged.
                           expectsReply: index != 0 && index != messages.count - 1)
        }
        // The kernel answers every message (acks carry NLM_F_ACK) and echoes every rule:
        // the socket must hold all of that at once, and take the whole batch in one write.
        try channel.transport.reserve(sendBytes: encoded.bytes.count + 4096,
                                      receiveBytes: encoded.messageCount * 1024 + encoded.bytes.count)
        var handles: [Int: UInt64] = [:]
        let outcomes = try channel.exchange(requests, untilFirstFailure: true) { index, message in
            guard message.type == nftablesMessageType(NFT_MSG_NEWRULE) else { return }
            message.withHeader { header in
                let rule = NftnlRule()
                if nftnl_rule_nlmsg_parse(header, rule.pointer) >= 0 { handles[index] = rule.u64(NFTNL_RULE_HANDLE) }
            }
        }
        let failures = zip(requests, outcomes).compactMap { request, outcome in outcome.failure.map { (request, $0) } }
        if let (request, failure) = failures.first {
            var operation = request.operation
            if failures.count > 1 { operation += " (and \(failures.count - 1) later change(s) failed)" }
            throw NetlinkError(operation, failure)
        }
        return Applied(ruleHandles: encoded.addedRules.map { handles[Int($0)] ?? 0 })
    }

    // MARK: Reading

    /// Every table, or those of one family.
    public func tables(family: Family? = nil) throws(NetlinkError) -> [Table] {
        try dump(NFT_MSG_GETTABLE, family: family?.rawValue ?? 0, operation: "list tables", parse: Table.init(message:))
    }

    /// Whether the table exists (one GETTABLE, not a dump).
    public func exists(_ table: Table) throws(NetlinkError) -> Bool {
        let request = NetlinkRequest(bytes: table.message(NFT_MSG_GETTABLE, flags: NLM_F_ACK, sequence: 0),
                                     operation: "get table \(table)")
        guard let failure = try channel.exchange([request]) { _, _ in }[0].failure else { return true }
        if failure.errno == ENOENT { return false }
        throw NetlinkError(request.operation, failure)
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

    /// Runs a dump and parses each object of it (read again when the ruleset changed meanwhile).
    private func dump<T>(_ type: nf_tables_msg_types, family: UInt8, operation: String,
                         payload: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in },
                         parse: (UnsafePointer<nlmsghdr>) -> T?) throws(NetlinkError) -> [T] {
        let request = nftablesMessage(type, family: family, flags: NLM_F_DUMP, sequence: 0, sizeBound: 1024, payload: payload)
        return try channel.dump(NetlinkRequest(bytes: request, operation: operation)) { message in message.withHeader(parse) }
    }
}

func nftablesMessageType(_ type: nf_tables_msg_types) -> UInt16 {
    UInt16(NFNL_SUBSYS_NFTABLES << 8) | UInt16(type.rawValue)
}
