import Foundation

// What the privileged test suites share: the capability gate and spawning tools inside the
// namespaces they make (Foundation's Process hangs under `unshare` here).

/// Creating namespaces needs CAP_SYS_ADMIN, changing links and nftables CAP_NET_ADMIN.
public let canManageNetworks: Bool = {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    let netAdmin: UInt64 = 1 << 12, sysAdmin: UInt64 = 1 << 21
    return mask & netAdmin != 0 && mask & sysAdmin != 0
}()

public struct SpawnError: Error { public let command: [String] }

/// Runs a tool to its end and returns its standard output.
public func spawn(_ command: [String]) throws -> [UInt8] {
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
public func spawnInBackground(_ command: [String]) throws -> pid_t {
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
public func stop(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}


/// The command prefix that runs a tool inside the namespace an fd of this process holds.
public func nsenter(namespaceFD: Int32) -> [String] {
    ["/usr/bin/nsenter", "--net=/proc/\(getpid())/fd/\(namespaceFD)"]
}
