#if canImport(Glibc)
import Glibc
#endif

/// Held while this process lives: an abstract unix socket bound to a name. Abstract names
/// belong to the network namespace, need no file and vanish with the process, so a crashed
/// holder never blocks the next one.
package final class InstanceLock {
    private let fd: Int32

    /// nil when another process of this network namespace holds `name`.
    package init?(name: String) throws(SystemError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SystemError("create socket for lock \(name)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // sun_path[0] stays 0: the abstract namespace.
        let bytes = Array(name.utf8.prefix(MemoryLayout.size(ofValue: address.sun_path) - 1))
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if result != 0 {
            if errno == EADDRINUSE { return nil }
            throw SystemError("bind lock \(name)")
        }
    }

    deinit { close(fd) }
}
