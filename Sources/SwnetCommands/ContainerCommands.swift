#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import SwnetContainers
import SwnetCore

struct RunCommand: RunnableCommand {
    static let detach = Option<Bool>(flag: "detach", short: "d", help: "Run in the background and print the container id.")
    static let remove = Option<Bool>(flag: "rm", help: "Remove the container and its attachments when it exits.")
    static let name = Option<String?>("name", value: "NAME", help: "Container name (default: the short id).")
    static let hostname = Option<String?>("hostname", value: "H", help: "Hostname inside (default: the short id).")
    static let rootfs = Option<String?>("rootfs", value: "DIR", help: "Root filesystem to pivot into (default: the host's files).", completes: .directories)
    static let workdir = Option<String?>("workdir", short: "w", value: "DIR", help: "Working directory inside.")
    static let networks = Option<[RunRequest.NetworkChoice]>(
        repeatable: "network", value: "NETWORK[:IP/LEN[,IP/LEN]|:dhcp[:OPTIONS]]",
        help: "Attach to NETWORK before the command starts (repeatable); dhcp: leased from a DHCP server on it, renewed while the container lives.",
        completes: .networks, transform: Parse.networkChoice)
    static let environment = Option<[String]>(repeatable: "env", short: "e", value: "KEY=VALUE", help: "Set an environment variable.") { $0 }
    static let capAdd = Option<[String]>(repeatable: "cap-add", value: "CAP", help: "Add a capability (ALL for all).") { $0 }
    static let capDrop = Option<[String]>(repeatable: "cap-drop", value: "CAP", help: "Drop a capability (ALL for all).") { $0 }
    static let userns = Option<Bool>(flag: "userns", help: "Also a user namespace: root inside is uid 100000 outside.")
    static let publish = Option<[PortSpec]>(
        repeatable: "publish", short: "p", value: "[HOST_IP:][HOST_PORT:]PORT[/PROTO]", help: "Publish a port (repeatable).",
        transform: Parse.portSpec)
    static let publishAll = Option<Bool>(flag: "publish-all", short: "P", help: "Publish every exposed port on an ephemeral host port.")
    static let expose = Option<[ExposedPorts]>(repeatable: "expose", value: "PORT[/PROTO]", help: "Expose a port for -P.",
                                              transform: Parse.exposedPorts)
    static let exposeFrom = Option<String?>("expose-from", value: "FILE", help: "Exposed ports from a Dockerfile or an image config (JSON).", completes: .files)
    static let command = Argument<[String]>(variadic: "COMMAND", minimum: 1, help: "The command and its arguments, after --.")

    static let definition = CommandDefinition(
        "run", abstract: "Run a command in new network, PID, mount, UTS and IPC namespaces.",
        usage: "swnet run [-d] [--rm] [--name NAME] [--rootfs DIR] [--network N[:IP/LEN|:dhcp]]... [-e K=V]... -- COMMAND [ARG...]",
        arguments: [command],
        options: GlobalOptions.declarations + [detach, remove, name, hostname, rootfs, workdir, networks, environment,
                                               capAdd, capDrop, userns, publish, publishAll, expose, exposeFrom,
                                               AttachCommand.rate],
        runs: Self.self)

    let global: GlobalOptions
    let request: RunRequest
    let publishAllExposed: Bool
    let exposed: [ExposedPorts]
    let exposeFromFile: String?

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        publishAllExposed = values[Self.publishAll]
        exposed = values[Self.expose]
        exposeFromFile = values[Self.exposeFrom]
        var request = RunRequest(
            command: values[Self.command], name: values[Self.name], hostname: values[Self.hostname],
            rootfs: values[Self.rootfs], workdir: values[Self.workdir], networks: values[Self.networks],
            environment: values[Self.environment], capabilitiesToAdd: values[Self.capAdd],
            capabilitiesToDrop: values[Self.capDrop], userNamespace: values[Self.userns],
            detach: values[Self.detach], autoRemove: values[Self.remove], publish: values[Self.publish])
        if let rate = values[AttachCommand.rate] {
            for index in request.networks.indices { request.networks[index].rate = rate }
        }
        self.request = request
    }

    func run() throws {
        var request = request
        if publishAllExposed {
            var ports = exposed
            if let exposeFromFile { ports += try ExposedPorts.fromFile(exposeFromFile) }
            for port in ports { request.publish.append(PortSpec(containerPorts: port.ports, transport: port.transport)) }
        }
        let outcome: RunOutcome
        do { outcome = try global.makeSwnet().run(request) } catch { throw ContainerCommandFailure(error) }
        switch outcome {
        case .detached(let container): print(container.id)
        case .exited(let status): exit(status)
        }
    }
}

/// How run and exec fail, as docker and podman exit: 126 when the command can't be executed,
/// 127 when there is no such command, 125 for any other failure of swnet's own.
struct ContainerCommandFailure: CommandFailure, CustomStringConvertible {
    let underlying: any Error

    init(_ underlying: any Error) { self.underlying = underlying }

    var exitStatus: Int32 { (underlying as? LaunchError)?.exitStatus ?? 125 }
    var description: String { "\(underlying)" }
}

struct ExecCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "Container name or id prefix.", completes: .containers)
    static let command = Argument<[String]>(variadic: "COMMAND", minimum: 1, help: "The command and its arguments, after --.")
    static let environment = Option<[String]>(repeatable: "env", short: "e", value: "KEY=VALUE", help: "Set an environment variable.") { $0 }
    static let workdir = Option<String?>("workdir", short: "w", value: "DIR", help: "Working directory inside.")

    static let definition = CommandDefinition(
        "exec", abstract: "Run a command inside a running container (all its namespaces and its root).",
        usage: "swnet exec [-e K=V]... [-w DIR] TARGET -- COMMAND [ARG...]",
        arguments: [target, command], options: GlobalOptions.declarations + [environment, workdir], runs: Self.self)

    let global: GlobalOptions
    let target: String
    let command: [String]
    let environment: [String]
    let workdir: String?

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        target = values[Self.target]
        command = values[Self.command]
        environment = values[Self.environment]
        workdir = values[Self.workdir]
    }

    func run() throws {
        let status: Int32
        do { status = try global.makeSwnet().exec(target, command: command, environment: environment, workdir: workdir) } catch {
            throw ContainerCommandFailure(error)
        }
        exit(status)
    }
}

struct PsCommand: RunnableCommand {
    static let all = Option<Bool>(flag: "all", short: "a", help: "Also show exited containers.")
    static let filter = Filters.option(keys: ["id", "name", "status", "network"],
                                       values: ["status": ["created", "running", "exited"]]) { key, value throws(UsageError) in
        if key == "status" && Container.Status(rawValue: value) == nil {
            throw UsageError("invalid filter 'status=\(value)': expected created, running or exited")
        }
    }

    static let definition = CommandDefinition(
        "ps", abstract: "List containers.",
        discussion: "Filters: id=PREFIX, name=PART (names containing PART), status=created|running|exited, network=NAME.",
        options: GlobalOptions.declarations + [all] + ListOptions.declarations(quietPrints: "ids", example: "{{.ID}}\\t{{.Names}}\\t{{.status}}") + [filter], runs: Self.self)

    let global: GlobalOptions
    let output: ListOptions
    let all: Bool
    let filters: Filters

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = try ListOptions(values)
        filters = Filters(values[Self.filter])
        // Asking for exited containers by status shows them without -a, as docker does.
        all = values[Self.all] || filters.values["status"] != nil
    }

    func run() throws {
        var listing = Listing([("ID", "CONTAINER ID"), ("Names", "NAMES"), ("Command", "COMMAND"), ("Status", "STATUS"),
                               ("Networks", "NETWORKS")])
        for container in try global.makeSwnet().listContainers(all: all) {
            guard filters.allows("id", { container.id.hasPrefix($0) }), filters.allows("name", { container.name.contains($0) }),
                  filters.allows("status", { container.currentStatus.rawValue == $0 }),
                  filters.allows("network", { container.networks.contains($0) }) else { continue }
            listing.append([container.shortID, container.name, container.command.joined(separator: " "),
                            statusText(container), container.networks.joined(separator: ",")],
                           json: container.json, quiet: container.shortID)
        }
        try output.print(listing)
    }
}

func statusText(_ container: Container) -> String {
    switch container.currentStatus {
    case .created: return "Created"
    case .running: return "Up \(ago(container.started ?? container.created))"
    case .exited: return "Exited (\(container.exitCode.map(String.init) ?? "unknown"))"
    }
}

private func ago(_ since: Int64) -> String {
    let seconds = max(0, Int64(time(nil)) - since)
    if seconds < 60 { return "\(seconds) second\(seconds == 1 ? "" : "s")" }
    if seconds < 3600 { return "\(seconds / 60) minute\(seconds / 60 == 1 ? "" : "s")" }
    return "\(seconds / 3600) hour\(seconds / 3600 == 1 ? "" : "s")"
}

/// TARGET... of inspect, stop, kill and rm.
let containerTargets = Argument<[String]>(variadic: "TARGET", minimum: 1, help: "Container names or id prefixes.", completes: .containers)

struct InspectCommand: RunnableCommand {
    static let targets = Argument<[String]>(variadic: "TARGET", minimum: 1,
                                            help: "Containers by name or id prefix, or any TARGET attach takes (PID, namespace, podman:NAME...).",
                                            completes: .targets)

    static let definition = CommandDefinition(
        "inspect", abstract: "Show containers, or any target swnet attached, in detail: addresses, interfaces of every kind, ports.",
        arguments: [targets], options: GlobalOptions.declarations + InspectOptions.declarations(example: "{{.name}} {{.pid}} {{json .networks}}"), runs: Self.self)

    let global: GlobalOptions
    let output: InspectOptions
    let targets: [String]

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = try InspectOptions(values)
        targets = values[Self.targets]
    }

    func run() throws {
        let swnet = global.makeSwnet()
        let details = try swnet.inspectContainers(targets)
        if try output.printFormatted(details.map(\.json)) { return }
        if output.json {
            print(JSON.array(details.map(\.json)).serialized(pretty: true))
            return
        }
        for detail in details {
            if let container = detail.container {
                print("id:        \(container.id)")
                print("name:      \(container.name)")
                print("command:   \(container.command.joined(separator: " "))")
                print("status:    \(statusText(container))")
                print("pid:       \(container.isRunning ? container.pid.map(String.init) ?? "-" : "-")")
                print("hostname:  \(container.hostname)")
                print("rootfs:    \(container.rootfs ?? "(host)")")
                print("networks:  \(container.networks.isEmpty ? "-" : container.networks.joined(separator: ", "))")
            } else {
                print("target:    \(detail.target)")
            }
            for attachment in detail.attachments {
                print("address:   \(attachment.addressSummary) on \(attachment.network) (\(attachment.containerInterface), "
                      + "gateway \(attachment.gatewaySummary), MAC \(attachment.mac?.description ?? "-"), data path \(attachment.dataPath))")
            }
            for interface in detail.interfaces {
                print("interface: \(interface.containerInterface) \(interface.addressSummary), \(interface.kind.rawValue) on \(interface.parent)"
                      + "\(interface.hostInterface.map { " (host side \($0))" } ?? ""), MAC \(interface.mac?.description ?? "-")")
            }
            for publication in detail.publications {
                print("port:      \(publication.hostDescription) -> \(publication.containerPort)")
            }
        }
    }
}

struct StopCommand: RunnableCommand {
    static let timeout = Option<Int?>("time", short: "t", value: "SECONDS", help: "Seconds to wait after SIGTERM before SIGKILL (default 10).",
                                      transform: Parse.seconds)
    static let targets = containerTargets

    static let definition = CommandDefinition(
        "stop", abstract: "Stop containers: SIGTERM, then SIGKILL.",
        arguments: [targets], options: GlobalOptions.declarations + [timeout], runs: Self.self)

    let global: GlobalOptions
    let timeout: Int
    let targets: [String]

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        timeout = values[Self.timeout] ?? 10
        targets = values[Self.targets]
    }

    func run() throws {
        try global.makeSwnet().stop(targets, timeout: timeout).forEach { print($0.name) }
    }
}

struct KillCommand: RunnableCommand {
    static let signal = Option<Int32?>("signal", short: "s", value: "SIGNAL", help: "Signal to send (default KILL).",
                                       transform: Parse.signal)
    static let targets = containerTargets

    static let definition = CommandDefinition(
        "kill", abstract: "Send a signal to containers.",
        arguments: [targets], options: GlobalOptions.declarations + [signal], runs: Self.self)

    let global: GlobalOptions
    let signal: Int32
    let targets: [String]

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        signal = values[Self.signal] ?? SIGKILL
        targets = values[Self.targets]
    }

    func run() throws {
        try global.makeSwnet().kill(targets, signal: signal).forEach { print($0.name) }
    }
}

struct RemoveCommand: RunnableCommand {
    static let force = Option<Bool>(flag: "force", short: "f", help: "Kill running containers first.")
    static let targets = containerTargets

    static let definition = CommandDefinition(
        "rm", abstract: "Remove containers, their addresses and interfaces.",
        arguments: [targets], options: GlobalOptions.declarations + [force], runs: Self.self)

    let global: GlobalOptions
    let force: Bool
    let targets: [String]

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        force = values[Self.force]
        targets = values[Self.targets]
    }

    func run() throws {
        try global.makeSwnet().remove(targets, force: force).forEach { print($0.name) }
    }
}

struct LogsCommand: RunnableCommand {
    static let follow = Option<Bool>(flag: "follow", short: "f", help: "Keep printing while the container runs.")
    static let target = Argument<String>("TARGET", help: "Container name or id prefix.", completes: .containers)

    static let definition = CommandDefinition(
        "logs", abstract: "Print a detached container's output.",
        arguments: [target], options: GlobalOptions.declarations + [follow], runs: Self.self)

    let global: GlobalOptions
    let follow: Bool
    let target: String

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        follow = values[Self.follow]
        target = values[Self.target]
    }

    func run() throws {
        let swnet = global.makeSwnet()
        let path = try swnet.logPath(of: target)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }  // nothing logged: a foreground container writes to its terminal
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var running = follow
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, count) }
                continue
            }
            // At the end of the log: stop, or, with -f, wait for more while the container runs
            // (one more pass after it exits picks up its last words).
            guard running else { return }
            running = try swnet.container(matching: target).isRunning
            if running { usleep(100_000) }
        }
    }
}
