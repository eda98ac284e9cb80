// NetlinkError and NetworkNamespace live in the transport; users of Netlink see them as before.
@_exported import NetlinkTransport
import CMnl
import Glibc

/// An rtnetlink socket bound to one network namespace. Every call is one request and its
/// replies; the handle is not thread-safe (use one per thread or task).
public final class NetlinkHandle {
    let channel: NetlinkChannel

    /// A handle for the namespace this process runs in.
    public convenience init() throws(NetlinkError) {
        try self.init(namespace: nil, netlinkProtocol: NETLINK_ROUTE)
    }

    /// A handle for another namespace. Only the socket is created there (on a private
    /// thread); no thread of this process changes namespace.
    public convenience init(namespace: NetworkNamespace) throws(NetlinkError) {
        try self.init(namespace: namespace, netlinkProtocol: NETLINK_ROUTE)
    }

    /// A handle speaking another netlink protocol (e.g. NETLINK_NETFILTER for conntrack).
    convenience init(namespace: NetworkNamespace?, netlinkProtocol: Int32) throws(NetlinkError) {
        // Extended acks explain errors; strict checking makes the kernel filter dumps
        // (by index, table, …) and reject requests it would silently misread; capped acks
        // keep error replies from echoing the whole request. 32 KiB holds the biggest dump
        // batch the kernel builds for rtnetlink.
        let socket = try NetlinkSocket(protocol: netlinkProtocol, namespace: namespace,
                                       options: [NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK],
                                       wait: .block, bufferSize: 32 * 1024, what: "netlink")
        self.init(transport: socket)
    }

    /// A handle over any transport: tests give one that records the requests and answers
    /// them as the kernel would, so the operations get golden tests without root.
    package init(transport: any MessageTransport) {
        channel = NetlinkChannel(transport: transport)
    }

    /// A socket of this namespace for ioctls (ethtool); -1 over a transport without one.
    var ioctlDescriptor: Int32 { (channel.transport as? NetlinkSocket)?.fileDescriptor ?? -1 }

    /// Sends one change and waits for the kernel's ack.
    public func execute(_ request: NetlinkRequest) throws(NetlinkError) {
        try channel.execute(request)
    }

    func execute(_ request: MessageBuilder, operation: String) throws(NetlinkError) {
        try channel.execute(NetlinkRequest(request, operation: operation))
    }

    /// Sends every request of the batch in one write and waits for all their acks. The
    /// kernel runs them in order and attempts each even when an earlier one failed; the
    /// first failure is thrown.
    public func execute(_ batch: NetlinkBatch) throws(NetlinkError) {
        try channel.execute(batch.requests)
    }

    /// Sends a get request for one object and returns its reply, nil if the kernel says
    /// it does not exist (the errno values in `notFound`).
    func fetch<T>(_ request: MessageBuilder, operation: String, notFound: Set<Int32>,
                  parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> T? {
        try channel.fetch(NetlinkRequest(request, operation: operation), notFound: notFound, parse: parse)
    }

    /// Runs a dump and parses every object of it (read again when the kernel says it changed meanwhile).
    func dump<T>(_ request: MessageBuilder, operation: String,
                 parse: (NetlinkMessage) -> T?) throws(NetlinkError) -> [T] {
        try channel.dump(NetlinkRequest(request, operation: operation), parse: parse)
    }
}
