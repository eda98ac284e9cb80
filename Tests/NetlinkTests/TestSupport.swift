import Foundation
import Netlink

/// Creating namespaces and links needs CAP_SYS_ADMIN (unshare) and CAP_NET_ADMIN.
let canManageNetworks: Bool = {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    let netAdmin: UInt64 = 1 << 12, sysAdmin: UInt64 = 1 << 21
    return mask & netAdmin != 0 && mask & sysAdmin != 0
}()

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
        String(decoding: try spawn(["/usr/bin/nsenter", "--net=/proc/\(getpid())/fd/\(namespace.fd)", tool] + arguments),
               as: UTF8.self)
    }

    /// `ip -j …` parsed as a JSON array of objects.
    func json(_ arguments: String...) throws -> [[String: Any]] {
        let data = try spawn(["/usr/bin/nsenter", "--net=/proc/\(getpid())/fd/\(namespace.fd)", "ip", "-j"] + arguments)
        return (try JSONSerialization.jsonObject(with: Data(data)) as? [[String: Any]]) ?? []
    }
}

struct SpawnError: Error { let command: [String]; let status: Int32 }

/// posix_spawn and waitpid directly: Foundation's Process left zombies and kept the test
/// process from exiting when run under `unshare`.
func spawn(_ command: [String]) throws -> [UInt8] {
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { throw SpawnError(command: command, status: -1) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
    close(pipeFDs[1])
    defer { close(pipeFDs[0]) }
    guard spawned == 0 else { throw SpawnError(command: command, status: -1) }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
        if count > 0 { output += buffer[0..<count] } else if count == 0 || errno != EINTR { break }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return output
}
