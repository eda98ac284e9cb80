#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher
import IPAM
import JSON
import SwnetCore

/// A detached container's monitor: the swnet executable started again (`/proc/self/exe`, as
/// runc does), so that no process ever goes on running Swift after a fork. It makes the
/// container, waits for its `swnet run -d` to say "go", lets the command run, then reaps the
/// init, records the exit status and honours --rm.
///
/// The handshake over a socket pair, one line a message:
///   run -d → monitor: the start (JSON)   monitor → run -d: "ready" or "failed STATUS MESSAGE"
///   run -d → monitor: "go"               monitor → run -d: "started" or "failed STATUS MESSAGE"
/// Until "go" the monitor dies with its `swnet run -d` (PR_SET_PDEATHSIG), and its init with it
/// (the init's gate closes): a killed `run -d` never starts its container afterwards, and
/// whatever it left is a start whose owner died, which gc and `rm -f NAME` undo. A failure is
/// reported only once everything made for it is gone.
public enum ContainerMonitor {
    /// The first argument that makes the swnet executable a monitor. The executable checks it
    /// before parsing anything else; it is not a command users see.
    public static let argument = "__container-monitor"

    /// The monitor's whole life; returns its exit status. `arguments`: this `argument`, the
    /// pid of `swnet run -d`, and the container's name (for ps).
    public static func main(_ arguments: [String]) -> Int32 {
        guard arguments.count == 3, arguments[0] == argument, let parent = Int32(arguments[1]),
              swnet_die_with_parent(parent) == 0 else { return SWNET_STATUS_LAUNCH_FAILED }
        let channel = MonitorChannel(fd: 3)
        guard let line = channel.receive(), let start = try? DetachedStart(json: JSON(parsing: line)) else {
            return SWNET_STATUS_LAUNCH_FAILED
        }
        Swnet(location: start.location, containers: ContainerRuntime()).monitor(start, channel: channel)
        return 0
    }
}

/// What the monitor of a detached container is asked to start.
struct DetachedStart {
    var location: StateLocation
    var containerID: String
    var spec: ContainerSpec
    var networks: [RunRequest.NetworkChoice]
    var publish: [PortSpec]

    var json: JSON {
        [
            "lib": .string(location.lib),
            "run": .string(location.run),
            "id": .string(containerID),
            "command": .array(spec.command.map { .string($0) }),
            "environment": .array(spec.environment.map { .string($0) }),
            "hostname": .string(spec.hostname),
            "rootfs": spec.rootfs.map { .string($0) } ?? .null,
            "workdir": spec.workdir.map { .string($0) } ?? .null,
            "userNamespace": .bool(spec.userNamespace),
            "capabilities": .int(Int64(bitPattern: spec.capabilities.mask)),
            "networks": .array(networks.map { choice in
                [
                    "network": .string(choice.network),
                    "addresses": .array(choice.addresses.map { .string($0.description) }),
                    "rate": choice.rate.map { .string($0.description) } ?? .null,
                    "dhcp": choice.dhcp.map { .array($0.clientArguments.map { .string($0) }) } ?? .null,
                ]
            }),
            "publish": .array(publish.map { .string($0.description) }),
        ]
    }

    init(location: StateLocation, containerID: String, spec: ContainerSpec, networks: [RunRequest.NetworkChoice], publish: [PortSpec]) {
        self.location = location
        self.containerID = containerID
        self.spec = spec
        self.networks = networks
        self.publish = publish
    }

    init(json: JSON) throws {
        guard let lib = json["lib"]?.string, let run = json["run"]?.string, let id = json["id"]?.string,
              let command = json["command"]?.array?.compactMap(\.string), let hostname = json["hostname"]?.string,
              let capabilities = json["capabilities"]?.int else { throw SwnetError("damaged start of a detached container") }
        location = StateLocation(lib: lib, run: run)
        containerID = id
        spec = ContainerSpec(command: command, environment: json["environment"]?.array?.compactMap(\.string) ?? [],
                             hostname: hostname, rootfs: json["rootfs"]?.string, workdir: json["workdir"]?.string,
                             userNamespace: json["userNamespace"]?.bool ?? false,
                             capabilities: CapabilitySet(mask: UInt64(bitPattern: capabilities)))
        networks = try (json["networks"]?.array ?? []).map { choice in
            guard let network = choice["network"]?.string else { throw SwnetError("damaged start of a detached container") }
            var decoded = RunRequest.NetworkChoice(network: network, addresses: (choice["addresses"]?.array ?? []).compactMap { $0.string.flatMap(InterfaceAddress.init) })
            decoded.rate = try choice["rate"]?.string.map { try RateLimit(parsing: $0) }
            decoded.dhcp = choice["dhcp"]?.array.map { DHCPRequest(clientArguments: $0.compactMap(\.string)) }
            return decoded
        }
        publish = try (json["publish"]?.array ?? []).compactMap(\.string).map { try PortSpec(parsing: $0) }
    }
}

/// One end of the socket pair between `swnet run -d` and its monitor: lines of text.
final class MonitorChannel {
    private let fd: Int32
    private var buffered: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Makes a socket pair and starts the monitor with the other end as its fd 3, in a session
    /// of its own with /dev/null as stdio, so that `$(swnet run -d ...)` returns at once.
    static func spawnMonitor(for container: Container) throws -> (pid: pid_t, channel: MonitorChannel) {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw SystemError("socketpair")
        }
        defer { close(ends[1]) }
        let arguments = [CommandLine.arguments.first ?? "swnet", ContainerMonitor.argument, "\(getpid())", container.name]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pid = argv.withUnsafeBufferPointer { swnet_spawn_self($0.baseAddress!, ends[1]) }
        guard pid > 0 else {
            close(ends[0])
            throw SystemError("start the container's monitor", errno: -pid)
        }
        return (pid, MonitorChannel(fd: ends[0]))
    }

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { sent += count } else if count < 0 && errno == EINTR { continue } else { return }
        }
    }

    /// The next line, or nil when the other side closed (or died).
    func receive() -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<end], as: UTF8.self)
                buffered.removeSubrange(...end)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 { buffered += chunk[..<count] } else if count < 0 && errno == EINTR { continue } else { return nil }
        }
    }

    func reportFailure(_ error: any Error) {
        let status = (error as? LaunchError)?.exitStatus ?? SWNET_STATUS_LAUNCH_FAILED
        send("failed \(status) \("\(error)".split(separator: "\n").first ?? "failed")")
    }

    /// Waits for `expected` from the monitor; throws the failure it reports instead, or
    /// `died` when it is gone without a word.
    func expect(_ expected: String, died: @autoclosure () -> String) throws(LaunchError) {
        guard let line = receive() else { throw LaunchError(died()) }
        guard line != expected else { return }
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count == 3, parts[0] == "failed", let status = Int32(parts[1]) else { throw LaunchError(died()) }
        throw LaunchError(String(parts[2]), exitStatus: status)
    }
}

extension Swnet {
    /// `run -d`, in `swnet run`: the record exists already; the monitor does the rest.
    func runDetached(_ container: Container, start: DetachedStart) throws -> RunOutcome {
        let monitor: (pid: pid_t, channel: MonitorChannel)
        do {
            monitor = try MonitorChannel.spawnMonitor(for: container)
        } catch {
            undoStart(container, process: nil)
            throw error
        }
        let died = "the monitor of container \(container.name) died while starting it"
        do {
            monitor.channel.send(start.json.serialized())
            try monitor.channel.expect("ready", died: died)
            monitor.channel.send("go")
            try monitor.channel.expect("started", died: died)
        } catch {
            // The monitor undid its work before it reported; one that died left a start whose
            // owner is gone, undone here as gc would.
            var status: Int32 = 0
            while waitpid(monitor.pid, &status, 0) < 0 && errno == EINTR {}
            if let left = try? store.read({ state in try state.container(id: container.id) }) {
                left.killInit()
                undoStart(left, process: nil)
            }
            throw error
        }
        return .detached(try store.read { state in try state.container(id: container.id) } ?? container)
    }

    /// The monitor's side of the handshake, then the container's life.
    fileprivate func monitor(_ start: DetachedStart, channel: MonitorChannel) {
        guard var container = try? store.read({ state in try state.container(id: start.containerID) }) else {
            channel.reportFailure(SwnetError("container \(start.containerID.prefix(12)) was removed while it started"))
            return
        }
        var spec = start.spec
        try? Files.makeDirectories(location.containerLogs)  // if it fails, so does the open
        let log = open(location.containerLogPath(id: container.id), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard log >= 0 else {
            let error = SystemError("create log of \(container.name)")
            undoStart(container, process: nil)
            channel.reportFailure(error)
            return
        }
        spec.standardInput = 0  // /dev/null
        spec.standardOutput = log
        spec.standardError = log
        let process: ContainerProcess
        do {
            defer { close(log) }  // the init has its own copy
            process = try prepare(&container, spec: spec, networks: start.networks, publish: start.publish)
        } catch {
            channel.reportFailure(error)
            return
        }
        channel.send("ready")
        guard channel.receive() == "go" else {
            // `swnet run -d` is gone before "go" (and this process about to be killed).
            undoStart(container, process: process)
            return
        }
        swnet_outlive_parent()
        do {
            try launch(&container, process)
        } catch {
            channel.reportFailure(error)
            return
        }
        channel.send("started")
        try? finish(&container, status: process.wait())
    }
}
