#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol without libsystemd: one datagram of `KEY=VALUE` lines to the
/// unix socket named by $NOTIFY_SOCKET (a path, or `@name` in the abstract namespace). Without
/// the variable it does nothing, so the agent runs the same outside systemd.
enum SystemdNotify {
    /// Sends `state` (e.g. "READY=1\nSTATUS=joined"); false when there is no socket or it failed.
    @discardableResult
    static func send(_ state: String) -> Bool {
        guard let path = environment("NOTIFY_SOCKET"), path.hasPrefix("/") || path.hasPrefix("@") else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        if pathBytes[0] == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract: a leading NUL, no terminator
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes[0] == 0 ? 0 : 1))

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, length) }
            }
        }
        return sent == message.count
    }
}
