#if canImport(Glibc)
import Glibc
#endif
import CCap
import CSwnetLauncher
import SwnetCore

/// Linux capabilities a container's command keeps, as a mask: bit N is CAP_N.
public struct CapabilitySet: Sendable, Equatable {
    public var mask: UInt64

    public init(mask: UInt64) { self.mask = mask }

    /// What Docker grants a container unless told otherwise.
    public static let dockerDefault = CapabilitySet(mask: [
        CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
        CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
    ].reduce(0) { $0 | 1 << UInt64($1) })

    /// Every capability of the running kernel (0 through /proc/sys/kernel/cap_last_cap).
    public static let all: CapabilitySet = {
        let count = min(Int(cap_max_bits()), 64)
        return CapabilitySet(mask: count == 64 ? .max : (1 << UInt64(count)) - 1)
    }()

    /// From names such as "NET_ADMIN", "CAP_NET_ADMIN" (any case) or "ALL".
    public init(names: [String]) throws(SwnetError) {
        mask = try Self.mask(of: names)
    }

    public func adding(_ names: [String]) throws(SwnetError) -> CapabilitySet {
        CapabilitySet(mask: mask | (try Self.mask(of: names)))
    }

    public func removing(_ names: [String]) throws(SwnetError) -> CapabilitySet {
        CapabilitySet(mask: mask & ~(try Self.mask(of: names)))
    }

    /// "CAP_…" names, sorted; `init(names:)` reads them back.
    public var names: [String] {
        (0..<64).filter { mask >> UInt64($0) & 1 == 1 }.map(Self.name(of:)).sorted()
    }

    private static func mask(of names: [String]) throws(SwnetError) -> UInt64 {
        var mask: UInt64 = 0
        for name in names {
            let upper = name.uppercased()
            if upper == "ALL" || upper == "CAP_ALL" {
                mask |= all.mask
                continue
            }
            let value = swnet_capability_from_name(name)
            guard value >= 0, value < 64 else { throw SwnetError.notFound("unknown capability '\(name)'") }
            mask |= 1 << UInt64(value)
        }
        return mask
    }

    private static func name(of value: Int) -> String {
        guard let text = cap_to_name(cap_value_t(value)) else { return "CAP_\(value)" }
        defer { cap_free(text) }
        return String(cString: text).uppercased()
    }
}

/// What a container runs and how it is set up; see `ContainerProcess`.
public struct ContainerSpec: Sendable {
    public var command: [String]
    /// "KEY=VALUE" entries; PATH defaults to Docker's when missing.
    public var environment: [String]
    public var hostname: String
    /// The container's root directory; nil shares the host's files (with a private /proc).
    public var rootfs: String?
    /// Where the command starts; nil is "/".
    public var workdir: String?
    /// Maps container ids 0…65535 to host ids 100000…165535.
    public var userNamespace: Bool
    public var capabilities: CapabilitySet
    public var standardInput: Int32
    public var standardOutput: Int32
    public var standardError: Int32
    /// The init is SIGKILLed when the thread that created it ends (a foreground `swnet run`
    /// killed takes its container with it).
    public var diesWithCaller: Bool

    public init(command: [String], environment: [String] = [], hostname: String, rootfs: String? = nil,
                workdir: String? = nil, userNamespace: Bool = false, capabilities: CapabilitySet = .dockerDefault,
                standardInput: Int32 = 0, standardOutput: Int32 = 1, standardError: Int32 = 2, diesWithCaller: Bool = false) {
        self.command = command
        self.environment = environment
        self.hostname = hostname
        self.rootfs = rootfs
        self.workdir = workdir
        self.userNamespace = userNamespace
        self.capabilities = capabilities
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.diesWithCaller = diesWithCaller
    }
}

/// A container's command that did not start, with the exit status docker and podman give it:
/// 125 when a step of swnet's own failed, 126 when the command can't be executed, 127 when
/// there is no such command.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let exitStatus: Int32

    public init(_ message: String, exitStatus: Int32 = SWNET_STATUS_LAUNCH_FAILED) {
        self.message = message
        self.exitStatus = exitStatus
    }

    public var description: String { message }
}

/// A container's init: PID 1 of its own PID, network, mount, UTS and IPC (and user) namespaces,
/// cloned by C code so that no Swift thread ever switches namespace. It waits for `release()`,
/// which leaves the caller time to attach networks through /proc/<pid>/ns/net; then it sets up
/// the container, runs the command, forwards signals to it and exits with its status.
public final class ContainerProcess {
    /// The init's pid, as the caller sees it.
    public let pid: Int32
    private var releaseHandle: Int32?
    private var exitStatus: Int32?

    private init(pid: Int32, releaseHandle: Int32) {
        self.pid = pid
        self.releaseHandle = releaseHandle
    }

    deinit {
        guard let releaseHandle else { return }
        // Never released: the init exits as soon as its handle closes, so reaping is quick.
        close(releaseHandle)
        if exitStatus == nil { _ = Self.reap(pid) }
    }

    /// Checks what can be checked from outside, so that mistakes get a clear line before any
    /// namespace exists: the hostname, the rootfs and that the command is there.
    public static func validate(_ spec: ContainerSpec) throws(LaunchError) {
        guard let command = spec.command.first, !command.isEmpty else { throw LaunchError("missing command") }
        guard !spec.hostname.isEmpty, spec.hostname.utf8.count <= 64 else {
            throw LaunchError("invalid hostname '\(spec.hostname)': 1 to 64 bytes")
        }
        if let rootfs = spec.rootfs, !Files.isDirectory(rootfs) { throw LaunchError("rootfs \(rootfs) is not a directory") }
        let root = spec.rootfs ?? ""
        let candidates: [String]
        if command.contains("/") {
            let base = command.hasPrefix("/") ? "" : (spec.workdir ?? "/") + "/"
            candidates = [root + base + command]
        } else {
            let path = environment(of: spec.environment).last { $0.hasPrefix("PATH=") }?.dropFirst(5) ?? ""
            candidates = path.split(separator: ":").map { "\(root)\($0)/\(command)" }
        }
        // lstat, not stat: a rootfs's absolute symlinks point into the host until pivot_root.
        var info = stat()
        guard candidates.contains(where: { lstat($0, &info) == 0 }) else {
            throw LaunchError("command '\(command)' not found" + (spec.rootfs.map { " in rootfs \($0)" } ?? ""),
                              exitStatus: SWNET_STATUS_NOT_FOUND)
        }
    }

    /// Validates `spec` and clones the container's init, which waits for `release()`.
    public static func create(_ spec: ContainerSpec) throws(LaunchError) -> ContainerProcess {
        try validate(spec)
        var releaseHandle: Int32 = -1
        let pid = withCStringArray(spec.command) { argv in
            withCStringArray(environment(of: spec.environment)) { envp in
                spec.hostname.withCString { hostname in
                    withOptionalCString(spec.rootfs) { rootfs in
                        withOptionalCString(spec.workdir) { workdir in
                            var cSpec = swnet_container_spec(
                                argv: argv, envp: envp, hostname: hostname, rootfs: rootfs, workdir: workdir,
                                user_namespace: spec.userNamespace ? 1 : 0, capabilities: spec.capabilities.mask,
                                stdin_fd: spec.standardInput, stdout_fd: spec.standardOutput, stderr_fd: spec.standardError,
                                die_with_caller: spec.diesWithCaller ? 1 : 0)
                            return swnet_container_create(&cSpec, &releaseHandle)
                        }
                    }
                }
            }
        }
        guard pid > 0 else { throw LaunchError("create the container: \(String(cString: strerror(-pid)))") }
        return ContainerProcess(pid: pid, releaseHandle: releaseHandle)
    }

    /// Lets the init set up the container and run the command; returns once the command was
    /// exec'd. Throws what failed inside (a mount, the exec…); the init has then exited.
    public func release() throws(LaunchError) {
        guard let handle = releaseHandle else { throw LaunchError("container \(pid) was already released") }
        releaseHandle = nil
        var message = [CChar](repeating: 0, count: 1024)
        var status: Int32 = 0
        let result = swnet_container_release(handle, &message, message.count, &status)
        guard result == 0 else { throw LaunchError(Self.text(message, orErrno: -result), exitStatus: status) }
    }

    /// Waits for the init to exit and returns the command's status: its exit code, or 128+N
    /// when signal N killed it. A container never released is told to give up first.
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        if let releaseHandle {
            close(releaseHandle)
            self.releaseHandle = nil
        }
        let status = Self.reap(pid)
        exitStatus = status
        return status
    }

    /// Sends `signal` to the init, which passes it on to the command (SIGKILL ends them all).
    public func signal(_ signal: Int32) {
        guard exitStatus == nil else { return }  // reaped: the pid may be someone else's now
        kill(pid, signal)
    }

    /// Runs `command` inside the namespaces and root of process `pid` (a container's init),
    /// forwarding the caller's signals to it; returns its status as `wait()` does.
    public static func exec(intoProcess pid: Int32, command: [String], environment: [String], workdir: String?,
                            capabilities: CapabilitySet) throws(LaunchError) -> Int32 {
        guard !command.isEmpty else { throw LaunchError("missing command") }
        var message = [CChar](repeating: 0, count: 1024)
        var failureStatus: Int32 = 0
        let result = withCStringArray(command) { argv in
            withCStringArray(Self.environment(of: environment)) { envp in
                withOptionalCString(workdir) { workdir in
                    swnet_container_exec(pid, argv, envp, workdir, capabilities.mask, &message, message.count, &failureStatus)
                }
            }
        }
        guard result >= 0 else { throw LaunchError(text(message, orErrno: -result), exitStatus: failureStatus) }
        return result
    }

    private static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The command's environment: Docker's PATH unless one is given, as the lookup needs one.
    private static func environment(of given: [String]) -> [String] {
        given.contains { $0.hasPrefix("PATH=") } ? given : given + [defaultPath]
    }

    /// waitpid, retried on EINTR, as an exit status; 255 if the init is not our child any more.
    private static func reap(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 255 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func text(_ message: [CChar], orErrno errnum: Int32) -> String {
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? String(cString: strerror(errnum)) : text
    }
}

/// Runs `body` with `strings` as a NULL-terminated array of C strings, valid during the call.
private func withCStringArray<Result>(_ strings: [String],
                                      _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withOptionalCString<Result>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
