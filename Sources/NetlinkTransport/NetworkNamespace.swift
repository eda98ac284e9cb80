import CSwnetShims
import Glibc

/// An open network namespace. The namespace lives at least as long as this object
/// (the fd keeps it alive) and `create()`d ones die with it unless something else
/// (a process, a mount, a link's socket) holds them.
public final class NetworkNamespace: Sendable {
    public let fd: Int32

    private init(adopting fd: Int32) { self.fd = fd }

    /// Opens a namespace file such as `/proc/<pid>/ns/net` or `/run/netns/<name>`.
    public convenience init(path: String) throws(NetlinkError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError(operation: "open namespace \(path)", errno: Glibc.errno) }
        let check = swnet_is_net_namespace(fd)
        guard check == 1 else {
            close(fd)
            let reason = check == 0 ? "not a network namespace" : "not a namespace file"
            throw NetlinkError(operation: "open namespace \(path)", errno: EINVAL, extendedAck: reason)
        }
        self.init(adopting: fd)
    }

    /// The network namespace of a process.
    public convenience init(processID: Int32) throws(NetlinkError) {
        try self.init(path: "/proc/\(processID)/ns/net")
    }

    /// The namespace this process runs in.
    public static func current() throws(NetlinkError) -> NetworkNamespace {
        let fd = swnet_open_current_netns()
        guard fd >= 0 else { throw NetlinkError(operation: "open current namespace", errno: -fd) }
        return NetworkNamespace(adopting: fd)
    }

    /// A fresh, empty network namespace (only a down `lo`), alive while this object is.
    public static func create() throws(NetlinkError) -> NetworkNamespace {
        let fd = swnet_new_netns()
        guard fd >= 0 else { throw NetlinkError(operation: "create namespace", errno: -fd) }
        return NetworkNamespace(adopting: fd)
    }

    /// Which namespace this is: equal for two fds of the same namespace.
    public var identity: NamespaceIdentity {
        var info = stat()
        // fstat of an open fd we own cannot fail short of memory corruption.
        precondition(fstat(fd, &info) == 0, "fstat of a namespace fd failed")
        return NamespaceIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    deinit { close(fd) }
}

/// The (device, inode) pair that names a namespace on this boot, printed "4-4026532281".
public struct NamespaceIdentity: Hashable, Sendable, LosslessStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Parses "4-4026532281".
    public init?(_ description: String) {
        let parts = description.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    public var description: String { "\(device)-\(inode)" }
}
