import Foundation
import NFTables
import Netlink

/// Creating namespaces needs CAP_SYS_ADMIN, nftables changes CAP_NET_ADMIN.
let canManageNetworks: Bool = {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    let netAdmin: UInt64 = 1 << 12, sysAdmin: UInt64 = 1 << 21
    return mask & netAdmin != 0 && mask & sysAdmin != 0
}()


/// A fresh namespace with nftables and rtnetlink handles in it: each test works only there.
struct Sandbox {
    let namespace: NetworkNamespace
    let nft: NFTablesHandle
    let netlink: NetlinkHandle

    init() throws {
        namespace = try NetworkNamespace.create()
        nft = try NFTablesHandle(namespace: namespace)
        netlink = try NetlinkHandle(namespace: namespace)
    }

    var nsenter: [String] { ["/usr/bin/nsenter", "--net=/proc/\(getpid())/fd/\(namespace.fd)"] }

    /// `nft -j list ruleset` in the sandbox: the objects of the `nftables` array, each
    /// keyed by its kind (`table`, `chain`, `rule`, `map`, …).
    func ruleset() throws -> [(kind: String, object: [String: Any])] {
        let data = try spawn(nsenter + ["/usr/sbin/nft", "-j", "list", "ruleset"])
        let root = try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]
        let items = root?["nftables"] as? [[String: Any]] ?? []
        return items.compactMap { item in
            guard let (kind, object) = item.first, let object = object as? [String: Any], kind != "metainfo" else { return nil }
            return (kind, object)
        }
    }

    func objects(_ kind: String) throws -> [[String: Any]] { try ruleset().filter { $0.kind == kind }.map(\.object) }
}

struct SpawnError: Error { let command: [String] }

/// posix_spawn and waitpid directly: Foundation's Process hangs under `unshare` here.
func spawn(_ command: [String]) throws -> [UInt8] {
    var pipeFDs: [Int32] = [0, 0]
    // Close-on-exec: a server spawned meanwhile by a parallel test must not hold the write end.
    guard pipe(&pipeFDs) == 0 else { throw SpawnError(command: command) }
    pipeFDs.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
    close(pipeFDs[1])
    defer { close(pipeFDs[0]) }
    guard spawned == 0 else { throw SpawnError(command: command) }
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

/// Starts a long-running process (a server) with no output; returns its pid.
func spawnInBackground(_ command: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, command[0], &actions, nil, argv, environ) == 0 else { throw SpawnError(command: command) }
    return pid
}

/// SIGKILL: the test runner's blocked SIGTERM is inherited by what it spawns.
func stop(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

/// A tiny netlink attribute reader for checking encoded messages by hand.
struct WireAttributes {
    var entries: [(type: UInt16, payload: [UInt8])] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            entries.append((type, Array(bytes[(offset + 4)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
    }

    /// The attributes after a message's netlink and nfgenmsg headers.
    init(message: [UInt8]) { self.init(message[20...]) }

    subscript(_ type: UInt16) -> [UInt8]? { entries.first { $0.type == type }?.payload }
    func all(_ type: UInt16) -> [[UInt8]] { entries.filter { $0.type == type }.map(\.payload) }
    func nested(_ type: UInt16) -> WireAttributes? { self[type].map { WireAttributes($0[...]) } }
    func string(_ type: UInt16) -> String? { self[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    func be32(_ type: UInt16) -> UInt32? { self[type].map { $0.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } } }
}

func bytes(hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}
