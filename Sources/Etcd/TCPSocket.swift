import Glibc

/// A connected TCP socket whose reads and writes give up after the timeout it was opened with.
final class TCPSocket: ByteStream {
    let fileDescriptor: Int32
    private let timeoutMilliseconds: Int32

    /// Tries each address `host` resolves to, each within the timeout.
    init(host: String, port: UInt16, timeoutMilliseconds: Int32) throws(EndpointError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var addresses: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &addresses)
        guard status == 0, let addresses else {
            throw EndpointError(kind: .unreachable, reason: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(addresses) }
        self.timeoutMilliseconds = timeoutMilliseconds
        var lastError = EndpointError(kind: .unreachable, reason: "\(host) has no address")
        for address in sequence(first: addresses, next: { $0.pointee.ai_next }) {
            do {
                fileDescriptor = try Self.connect(to: address.pointee, timeoutMilliseconds: timeoutMilliseconds)
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    deinit { close(fileDescriptor) }

    var hasBufferedBytes: Bool { false }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(EndpointError) -> Int {
        while true {
            let count = recv(fileDescriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno != EINTR { throw ioError(errno) }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(EndpointError) -> Int {
        while true {
            // MSG_NOSIGNAL: a reset connection must be an error here, not a SIGPIPE that kills swnet.
            let count = send(fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return count }
            if errno != EINTR { throw ioError(errno) }
        }
    }

    /// Connects without blocking, so that poll() bounds the wait, then switches to blocking
    /// reads and writes bounded by SO_RCVTIMEO/SO_SNDTIMEO.
    private static func connect(to address: addrinfo, timeoutMilliseconds: Int32) throws(EndpointError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        let fd = socket(address.ai_family, type, 0)
        guard fd >= 0 else { throw EndpointError(kind: .unreachable, reason: "cannot create a socket: \(systemErrorText(errno))") }
        do throws(EndpointError) {
            if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { throw EndpointError(kind: .unreachable, reason: systemErrorText(errno)) }
                try waitUntilConnected(fd, timeoutMilliseconds: timeoutMilliseconds)
            }
            var timeout = timeval(tv_sec: Int(timeoutMilliseconds / 1000), tv_usec: Int(timeoutMilliseconds % 1000) * 1000)
            var noDelay: Int32 = 1
            guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0,
                  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0,
                  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0,
                  // Requests are written whole; waiting to coalesce them only adds latency.
                  setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size)) == 0
            else { throw EndpointError(kind: .unreachable, reason: "cannot configure the socket: \(systemErrorText(errno))") }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    private static func waitUntilConnected(_ fd: Int32, timeoutMilliseconds: Int32) throws(EndpointError) {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else {
            throw ready == 0
                ? EndpointError(kind: .unreachable, reason: "connection timed out after \(timeoutMilliseconds) ms", timedOut: true)
                : EndpointError(kind: .unreachable, reason: systemErrorText(errno))
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
            throw EndpointError(kind: .unreachable, reason: systemErrorText(errno))
        }
        guard error == 0 else { throw EndpointError(kind: .unreachable, reason: systemErrorText(error)) }
    }

    private func ioError(_ code: Int32) -> EndpointError {
        code == EAGAIN || code == EWOULDBLOCK
            ? EndpointError(kind: .unreachable, reason: "no progress within \(timeoutMilliseconds) ms", timedOut: true)
            : EndpointError(kind: .unreachable, reason: systemErrorText(code))
    }
}

/// strerror's text with a lowercase start, to read well after a colon: "connection refused".
func systemErrorText(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
}
