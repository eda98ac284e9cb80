import Glibc

/// A failed netlink request: what was attempted, the kernel's errno and, when the kernel
/// explained itself, its extended-ack text.
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    /// What was attempted, e.g. "create link veth0".
    public var operation: String
    /// Positive errno value.
    public var errno: Int32
    /// The kernel's NLMSGERR_ATTR_MSG text, if it sent one.
    public var extendedAck: String?

    public init(operation: String, errno: Int32, extendedAck: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.extendedAck = extendedAck
    }

    /// `create link veth0: File exists (extack text)`.
    public var description: String {
        let reason = strerror(errno).map { String(cString: $0) } ?? "errno \(errno)"
        guard let extendedAck, !extendedAck.isEmpty else { return "\(operation): \(reason)" }
        return "\(operation): \(reason) (\(extendedAck))"
    }

    /// The object the request names does not exist: no such link, address, route or neighbour.
    public var isNotFound: Bool {
        [ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL].contains(errno)
    }

    /// The object to create exists already.
    public var isExists: Bool { errno == EEXIST }
}
