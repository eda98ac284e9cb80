#if canImport(Glibc)
import Glibc
#endif

/// An flock(2) lock on a file. The kernel drops it when the process dies, so a crashed
/// swnet never leaves the state locked.
final class FileLock {
    private let fd: Int32

    enum Mode { case shared, exclusive }

    init(path: String, mode: Mode) throws(SystemError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError("open lock \(path)") }
        let operation = mode == .exclusive ? LOCK_EX : LOCK_SH
        while flock(fd, operation) != 0 {
            if errno != EINTR {
                let error = SystemError("lock \(path)")
                close(fd)
                throw error
            }
        }
    }

    deinit { close(fd) }
}
