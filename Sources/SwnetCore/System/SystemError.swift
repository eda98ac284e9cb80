#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with what swnet was doing and on which path.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// Runs a system call, retrying on EINTR, and turns -1 into a `SystemError`.
@discardableResult
func retryingOnInterrupt<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ call: () -> T) throws(SystemError) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        if errno != EINTR { throw SystemError(operation(), errno: errno) }
    }
}
