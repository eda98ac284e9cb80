import CMnl
import CSwnetShims
import Glibc

/// Tells when a namespace's IPv4 addresses (or the `events` asked for) change (rtnetlink
/// multicast groups), so a long-running caller reacts at once instead of polling. It only says
/// "something changed": the caller reads again what it cares about. Links are left out by
/// default: every attach makes link events, and an address moving is what the agent watches for.
public final class NetlinkMonitor {
    private let socket: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer

    public init(namespace: NetworkNamespace? = nil, events: Events = .ipv4Addresses) throws(NetlinkError) {
        let fd: Int32
        if let namespace {
            fd = swnet_socket_in_netns(namespace.fd, AF_NETLINK, Int32(SOCK_RAW.rawValue), NETLINK_ROUTE)
        } else {
            fd = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        }
        guard fd >= 0 else { throw NetlinkError(operation: "open netlink monitor socket", errno: fd == -1 ? errno : -fd) }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = errno
            close(fd)
            throw NetlinkError(operation: "open netlink monitor socket", errno: error)
        }
        let groups = events.rawValue
        guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0,
              mnl_socket_bind(socket, groups, pid_t(MNL_SOCKET_AUTOPID)) == 0
        else {
            let error = errno
            mnl_socket_close(socket)
            throw NetlinkError(operation: "subscribe to address changes", errno: error)
        }
        self.socket = socket
        buffer = .allocate(byteCount: 32 * 1024, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        buffer.deallocate()
    }

    /// For poll(2): readable when a change is waiting.
    public var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    /// Reads and drops the waiting notifications; true when there was any. A full socket
    /// buffer (ENOBUFS: the kernel dropped some) counts as a change too.
    public func drain() -> Bool {
        var changed = false
        while true {
            let count = mnl_socket_recvfrom(socket, buffer.baseAddress, buffer.count)
            if count > 0 { changed = true; continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == ENOBUFS { changed = true; continue }
            return changed
        }
    }
}
