import CMnl
import CSwnetShims
import Glibc

/// Where a channel's requests go and its replies come from: a netlink socket, or in tests a
/// stand-in that records the requests and answers as the kernel would (no root needed).
package protocol MessageTransport: AnyObject {
    /// The port the kernel addresses replies to; replies for another port are not ours.
    var portID: UInt32 { get }
    /// Sends messages in one write.
    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError)
    /// The next messages the kernel sent, waiting as the transport was set up to.
    func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage]
    /// Makes room for a batch and all its answers at once (nftables' big batches).
    func reserve(sendBytes: Int, receiveBytes: Int) throws(NetlinkError)
}

extension MessageTransport {
    package func reserve(sendBytes: Int, receiveBytes: Int) throws(NetlinkError) {}
}

/// A netlink socket of one protocol, opened in a network namespace: the one place sockets are
/// made for rtnetlink, nftables, conntrack and the address monitor.
package final class NetlinkSocket: MessageTransport {
    /// How `receive` waits for the kernel.
    package enum Wait: Sendable {
        /// Blocks until something arrives.
        case block
        /// Polls; no answer within this many milliseconds is an error (ETIMEDOUT).
        case poll(milliseconds: Int32)
        /// Does not wait: an empty answer when nothing is queued.
        case none
    }

    private let socket: OpaquePointer
    package let portID: UInt32
    private let wait: Wait
    private let buffer: UnsafeMutableRawBufferPointer
    private var receiveBufferSize = 0
    private var sendBufferSize = 0

    /// Opens a socket for `netlinkProtocol` in `namespace` (nil: this process's), sets the
    /// boolean `options` (NETLINK_EXT_ACK, …) and binds it to the multicast `groups`. Only the
    /// socket is created in another namespace, on a private thread; no thread of this process
    /// changes namespace. `what` names the socket in errors ("netlink", "nftables").
    package init(protocol netlinkProtocol: Int32, namespace: NetworkNamespace?, options: [Int32], groups: UInt32 = 0,
                 wait: Wait, bufferSize: Int, what: String) throws(NetlinkError) {
        let fd: Int32
        if let namespace {
            fd = swnet_socket_in_netns(namespace.fd, AF_NETLINK, Int32(SOCK_RAW.rawValue), netlinkProtocol)
            guard fd >= 0 else { throw NetlinkError(operation: "open \(what) socket in namespace", errno: -fd) }
        } else {
            fd = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkProtocol)
            guard fd >= 0 else { throw NetlinkError(operation: "open \(what) socket", errno: errno) }
        }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = errno
            close(fd)
            throw NetlinkError(operation: "open \(what) socket", errno: error)
        }
        do throws(NetlinkError) {
            var one: Int32 = 1
            for option in options {
                guard mnl_socket_setsockopt(socket, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                    throw NetlinkError(operation: "configure \(what) socket", errno: errno)
                }
            }
            if case .none = wait {
                guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
                    throw NetlinkError(operation: "configure \(what) socket", errno: errno)
                }
            }
            guard mnl_socket_bind(socket, groups, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
                throw NetlinkError(operation: groups == 0 ? "bind \(what) socket" : "subscribe to \(what) changes", errno: errno)
            }
        } catch {
            mnl_socket_close(socket)
            throw error
        }
        self.socket = socket
        portID = mnl_socket_get_portid(socket)
        self.wait = wait
        buffer = .allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        buffer.deallocate()
    }

    /// For poll(2).
    package var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    package func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent >= 0 else { throw NetlinkError(operation: operation, errno: errno) }
    }

    package func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        while true {
            let received: Int
            switch wait {
            case .block: received = mnl_socket_recvfrom(socket, buffer.baseAddress, buffer.count)
            case .poll, .none: received = recv(fileDescriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            }
            if received >= 0 { return NetlinkMessage.split(UnsafeRawBufferPointer(rebasing: buffer[..<received])) }
            switch (errno, wait) {
            case (EINTR, _):
                continue
            case (EAGAIN, .none):
                return []
            case (EAGAIN, .poll(let milliseconds)):
                var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
                if poll(&descriptor, 1, milliseconds) == 0 { throw NetlinkError(operation: operation, errno: ETIMEDOUT) }
            case (let code, _):
                throw NetlinkError(operation: operation, errno: code)
            }
        }
    }

    package func reserve(sendBytes: Int, receiveBytes: Int) throws(NetlinkError) {
        try ensureBuffer(SO_RCVBUFFORCE, fallback: SO_RCVBUF, bytes: receiveBytes, current: &receiveBufferSize)
        try ensureBuffer(SO_SNDBUFFORCE, fallback: SO_SNDBUF, bytes: sendBytes, current: &sendBufferSize)
    }

    private func ensureBuffer(_ option: Int32, fallback: Int32, bytes: Int, current: inout Int) throws(NetlinkError) {
        // The kernel's defaults (~208 KiB) suffice for ordinary batches.
        guard bytes > 200 * 1024, bytes > current else { return }
        var size = Int32(clamping: bytes)
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fileDescriptor, SOL_SOCKET, option, &size, length) != 0,
           setsockopt(fileDescriptor, SOL_SOCKET, fallback, &size, length) != 0 {
            throw NetlinkError(operation: "size netlink socket buffer", errno: errno)
        }
        current = bytes
    }
}
