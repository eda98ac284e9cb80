import CMnl
import Glibc
import NetlinkTransport

/// Tells when a namespace's IPv4 addresses change (an rtnetlink multicast group), so a
/// long-running caller reacts at once instead of polling. It only says "something changed":
/// the caller reads again what it cares about. Links are left out on purpose: every attach
/// makes link events, and an address moving is what callers watch for.
public final class NetlinkMonitor {
    private let socket: NetlinkSocket

    public init(namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, namespace: namespace, options: [],
                                   groups: UInt32(RTMGRP_IPV4_IFADDR), wait: .none, bufferSize: 32 * 1024,
                                   what: "netlink address")
    }

    /// For poll(2): readable when a change is waiting.
    public var fileDescriptor: Int32 { socket.fileDescriptor }

    /// Reads and drops the waiting notifications; true when there was any. A full socket
    /// buffer (ENOBUFS: the kernel dropped some) counts as a change too.
    public func drain() -> Bool {
        var changed = false
        while true {
            do {
                guard !(try socket.receive(operation: "read address changes")).isEmpty else { return changed }
                changed = true
            } catch where error.errno == ENOBUFS {
                changed = true
            } catch {
                return changed
            }
        }
    }
}
