#if canImport(Glibc)
import Glibc
#endif

/// An flock(2) lock on a file. The kernel drops it when the process dies, so a crashed
/// swnet never leaves the state locked.
final class FileLock {
    private let fd: Int32

    enum Mode { case shared, exclusive }

    init(path: String, mode: Mode) throws(SystemError) {
        fd = try Self.open(path)
        try lock(path, mode == .exclusive ? LOCK_EX : LOCK_SH)
    }

    private static func open(_ path: String) throws(SystemError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError("open lock \(path)") }
        return fd
    }

    /// On failure the descriptor is closed by deinit, which runs for an initializer that
    /// fails once every property is set.
    private func lock(_ path: String, _ operation: Int32) throws(SystemError) {
        while flock(fd, operation) != 0 {
            if errno != EINTR { throw SystemError("lock \(path)") }
        }
    }

    deinit { close(fd) }
}
