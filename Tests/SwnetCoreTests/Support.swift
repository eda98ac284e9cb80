import Foundation
import Netlink
@testable import SwnetCore

let hasNetAdmin = getuid() == 0

/// A throwaway "host" namespace and state root: swnet runs against them as if they were the
/// machine's, so tests never touch the real namespace and can run in parallel.
final class Sandbox {
    let host: NetworkNamespace
    let root: String
    let swnet: Swnet
    private var containers: [NetworkNamespace] = []

    init() throws {
        host = try NetworkNamespace.create()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-core-\(UUID().uuidString)").path
        swnet = Swnet(location: StateLocation.resolve(root: root), hostNamespace: host)
        let netlink = try NetlinkHandle(namespace: host)
        if let loopback = try netlink.link(named: "lo") { try netlink.setLink(index: loopback.index, LinkChanges(up: true)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A fresh namespace standing in for a container, and the path that names it.
    func container() throws -> (namespace: NetworkNamespace, path: String) {
        let namespace = try NetworkNamespace.create()
        containers.append(namespace)
        return (namespace, "/proc/\(getpid())/fd/\(namespace.fd)")
    }

    func hostNetlink() throws -> NetlinkHandle { try NetlinkHandle(namespace: host) }

    /// A bridge in the host namespace, up (an underlay, a foreign bridge).
    func bridge(_ name: String) throws -> Link {
        let netlink = try hostNetlink()
        var spec = LinkSpec(name: name, kind: .bridge())
        spec.up = true
        try netlink.addLink(spec)
        guard let link = try netlink.link(named: name) else { throw SwnetError("bridge \(name) vanished") }
        return link
    }

    /// Every file under the state root with its contents, the databases by content (SQLite
    /// rewrites pages on every commit), to prove a failure changed nothing.
    func stateSnapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix("lock") || path.hasSuffix("-journal") { continue }
            if path.hasSuffix(".db") {
                let dump = Process()
                dump.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
                dump.arguments = ["\(root)/\(path)", ".dump"]
                let output = Pipe()
                dump.standardOutput = output
                try dump.run()
                files[path] = output.fileHandleForReading.readDataToEndOfFile()
                dump.waitUntilExit()
            } else if let data = FileManager.default.contents(atPath: "\(root)/\(path)") {
                files[path] = data
            }
        }
        return files
    }
}
