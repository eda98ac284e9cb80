import CMnl
import Glibc
import NetlinkTransport

/// Tells when a namespace's IPv4 addresses (or the `events` asked for) change (rtnetlink
/// multicast groups), so a long-running caller reacts at once instead of polling. It only says
/// "something changed": the caller reads again what it cares about. Links are left out by
/// default: every attach makes link events, and an address moving is what the agent watches for.
public final class NetlinkMonitor {
    private let socket: NetlinkSocket

    public init(namespace: NetworkNamespace? = nil, events: Events = .ipv4Addresses) throws(NetlinkError) {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, namespace: namespace, options: [],
                                   groups: events.rawValue, wait: .none, bufferSize: 32 * 1024,
                                   what: "netlink notification")
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
