#if canImport(Glibc)
import Glibc
#endif
import Netlink

/// A container's network namespace, found from what the user typed.
public struct ResolvedTarget {
    /// How to name it in messages and records, e.g. "pid 1234" or "netns c1".
    public let label: String
    /// A path that reopens the namespace while it lives.
    public let path: String
    public let namespace: NetworkNamespace

    public var namespaceID: NamespaceIdentity { namespace.identity }
}

/// Turns the kernel-level kinds of TARGET into a network namespace: a PID (bare number or
/// `pid:N`), a name from /run/netns (`netns:NAME` forces it), or a path to a namespace file
/// such as /proc/PID/ns/net or a bind mount. `Swnet.resolveTarget` adds containers on top.
public struct TargetResolver: Sendable {
    public var netnsDirectory: String

    public init(netnsDirectory: String = "/run/netns") {
        self.netnsDirectory = netnsDirectory
    }

    /// Resolves a PID, namespace name or path; `label` names it in messages instead.
    public func resolve(_ text: String, label: String? = nil) throws(SwnetError) -> ResolvedTarget {
        let resolved = try resolve(text)
        guard let label else { return resolved }
        return ResolvedTarget(label: label, path: resolved.path, namespace: resolved.namespace)
    }

    public func resolve(_ text: String) throws(SwnetError) -> ResolvedTarget {
        if text.isEmpty { throw SwnetError.invalid("empty target") }
        if let pid = text.stripping(prefix: "pid:") { return try process(pid) }
        if let name = text.stripping(prefix: "netns:") { return try namedNamespace(name) }
        if text.allSatisfy(\.isASCIIDigit) { return try process(text) }
        if text.contains("/") { return try open(path: text, label: text) }
        if Files.exists("\(netnsDirectory)/\(text)") { return try namedNamespace(text) }
        throw SwnetError.notFound("unknown target '\(text)': not a PID, a namespace in \(netnsDirectory) or a namespace file")
    }

    private func process(_ text: String) throws(SwnetError) -> ResolvedTarget {
        guard let pid = Int32(text), pid > 0 else { throw SwnetError.invalid("invalid PID '\(text)'") }
        let path = "/proc/\(pid)/ns/net"
        guard Files.exists(path) else { throw SwnetError.notFound("no process with PID \(pid)") }
        return try open(path: path, label: "pid \(pid)")
    }

    private func namedNamespace(_ name: String) throws(SwnetError) -> ResolvedTarget {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw SwnetError.invalid("invalid namespace name '\(name)'")
        }
        let path = "\(netnsDirectory)/\(name)"
        guard Files.exists(path) else { throw SwnetError.notFound("no network namespace named '\(name)' in \(netnsDirectory)") }
        return try open(path: path, label: "netns \(name)")
    }

    private func open(path: String, label: String) throws(SwnetError) -> ResolvedTarget {
        guard Files.exists(path) else { throw SwnetError.notFound("no namespace file at \(path)") }
        do {
            return ResolvedTarget(label: label, path: path, namespace: try NetworkNamespace(path: path))
        } catch {
            throw SwnetError("\(path) is not a network namespace: \(error)")
        }
    }
}

extension String {
    package func stripping(prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
