#if canImport(Glibc)
import Glibc
#endif
import SwnetCore

extension Swnet {
    /// `swnet ps`: running containers, or all with `all`; newest first.
    public func listContainers(all: Bool) throws -> [Container] {
        try store.read { state in try state.containers() }
            .filter { all || $0.currentStatus == .running }
            .sorted { ($0.created, $0.id) > ($1.created, $1.id) }
    }

    /// Sends `signal` to each container's init, which passes it on to the command.
    public func kill(_ targets: [String], signal: Int32) throws -> [Container] {
        let containers = try targets.map { try container(matching: $0) }
        for container in containers {
            guard container.isRunning, let pid = container.pid else { throw SwnetError.containerNotRunning(container.name) }
            if Glibc.kill(pid, signal) != 0 { throw SystemError("signal \(container.name)") }
        }
        return containers
    }

    /// SIGTERM, then SIGKILL after `timeout` seconds; returns once every init is gone.
    public func stop(_ targets: [String], timeout: Int) throws -> [Container] {
        let containers = try targets.map { try container(matching: $0) }
        for container in containers where container.isRunning {
            guard let pid = container.pid else { continue }
            Glibc.kill(pid, SIGTERM)
            if !waitForExit(container, seconds: Double(timeout)) {
                Glibc.kill(pid, SIGKILL)
                _ = waitForExit(container, seconds: 10)
            }
        }
        return containers
    }

    /// Removes containers: their addresses, interfaces, logs and records. A running one needs
    /// `force`, which kills it first. Every name is checked before anything is removed.
    public func remove(_ targets: [String], force: Bool) throws -> [Container] {
        try requireNetworkPrivileges(for: "rm")
        let containers = try targets.map { try container(matching: $0) }
        for container in containers where container.isRunning && !force {
            throw SwnetError.containerRunning(container.name)
        }
        for container in containers where container.isRunning {
            if let pid = container.pid { Glibc.kill(pid, SIGKILL) }
            _ = waitForExit(container, seconds: 10)
        }
        try store.write { state in
            for read in containers {
                // Read again under the lock: a start may have gone on meanwhile. An init that is
                // still there (released since, or at its gate) is killed; its start then fails.
                let container = try state.container(id: read.id) ?? read
                container.killInit()
                _ = waitForExit(container, seconds: 10)
                try releaseNetworks(of: container, in: state)
                try removeRecord(of: container, in: state)
            }
        }
        return containers
    }

    /// The container's log (its output when run with -d).
    public func logPath(of target: String) throws -> String {
        location.containerLogPath(id: try container(matching: target).id)
    }

    /// Runs a command inside a running container; returns its exit status.
    public func exec(_ target: String, command: [String], environment: [String], workdir: String?) throws -> Int32 {
        guard !command.isEmpty else { throw SwnetError("missing command: swnet exec TARGET -- COMMAND [ARG...]") }
        for variable in environment where !variable.contains("=") || variable.hasPrefix("=") {
            throw SwnetError.invalid("invalid environment variable '\(variable)': expected KEY=VALUE")
        }
        let container = try container(matching: target)
        guard container.isRunning, let pid = container.pid else { throw SwnetError.containerNotRunning(container.name) }
        let capabilities = try CapabilitySet(names: container.capabilities)
        return try ContainerProcess.exec(intoProcess: pid, command: command,
                                         environment: Self.defaultEnvironment + environment,
                                         workdir: workdir, capabilities: capabilities)
    }

    private func waitForExit(_ container: Container, seconds: Double) -> Bool {
        var waited = 0.0
        while container.isRunning {
            if waited >= seconds { return false }
            usleep(10_000)
            waited += 0.01
        }
        return true
    }
}

/// Signal names as `kill -s` and Docker take them: "KILL", "SIGKILL" or "9".
public enum SignalName {
    private static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP), ("ABRT", SIGABRT),
        ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1), ("SEGV", SIGSEGV), ("USR2", SIGUSR2),
        ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP),
        ("TSTP", SIGTSTP), ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    public static func parse(_ text: String) throws(SwnetError) -> Int32 {
        if let number = Int32(text), (1...64).contains(number) { return number }
        let name = text.uppercased().stripping(prefix: "SIG") ?? text.uppercased()
        guard let entry = table.first(where: { $0.0 == name }) else { throw SwnetError.invalid("invalid signal '\(text)'") }
        return entry.1
    }
}
