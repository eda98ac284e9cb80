import Foundation
import Netlink
import SwnetTestSupport

/// A fresh namespace and a handle in it: each test works only there, never in the
/// machine's own namespace, and everything vanishes when the namespace object goes.
struct Sandbox {
    let namespace: NetworkNamespace
    let netlink: NetlinkHandle

    init() throws {
        namespace = try NetworkNamespace.create()
        netlink = try NetlinkHandle(namespace: namespace)
    }

    /// Runs an iproute2 command inside the sandbox's namespace (for cross-checking) and
    /// returns its standard output.
    @discardableResult
    func run(_ tool: String = "ip", _ arguments: String...) throws -> String {
        String(decoding: try spawn(nsenter(namespaceFD: namespace.fd) + [tool] + arguments),
               as: UTF8.self)
    }

    /// `ip -j …` parsed as a JSON array of objects.
    func json(_ arguments: String...) throws -> [[String: Any]] {
        let data = try spawn(nsenter(namespaceFD: namespace.fd) + ["ip", "-j"] + arguments)
        return (try JSONSerialization.jsonObject(with: Data(data)) as? [[String: Any]]) ?? []
    }
}
