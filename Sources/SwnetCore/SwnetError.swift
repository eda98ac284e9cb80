/// A user-facing failure: one line that names the problem. Lower-level errors (netlink,
/// IPAM, system calls) are wrapped with what swnet was doing when they happened.
public struct SwnetError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension SwnetError {
    /// Prefixes any error with the step that failed, keeping user errors unchanged.
    static func during(_ step: String, _ error: any Error) -> SwnetError {
        if let error = error as? SwnetError { return error }
        return SwnetError("\(step): \(error)")
    }
}
