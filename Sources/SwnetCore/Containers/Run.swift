#if canImport(Glibc)
import Glibc
#endif
import CSwnetShims
import IPAM

/// What `swnet run` asks for.
public struct RunRequest: Sendable {
    public struct NetworkChoice: Sendable, Equatable {
        public var network: String
        public var address: InterfaceAddress?
        /// `--rate`: a tbf on this network's interface, both ways (see `AttachRequest.rate`).
        public var rate: RateLimit?

        public init(network: String, address: InterfaceAddress? = nil) {
            self.network = network
            self.address = address
        }
    }

    public var command: [String]
    public var name: String?
    public var hostname: String?
    public var rootfs: String?
    public var workdir: String?
    public var networks: [NetworkChoice]
    public var environment: [String]
    public var capabilitiesToAdd: [String]
    public var capabilitiesToDrop: [String]
    public var userNamespace: Bool
    public var detach: Bool
    public var autoRemove: Bool
    /// Ports to publish once the networks are attached (`-p`, and `-P` for exposed ports).
    public var publish: [PortSpec]

    public init(command: [String], name: String? = nil, hostname: String? = nil, rootfs: String? = nil, workdir: String? = nil,
                networks: [NetworkChoice] = [], environment: [String] = [], capabilitiesToAdd: [String] = [],
                capabilitiesToDrop: [String] = [], userNamespace: Bool = false, detach: Bool = false, autoRemove: Bool = false,
                publish: [PortSpec] = []) {
        self.command = command
        self.name = name
        self.hostname = hostname
        self.rootfs = rootfs
        self.workdir = workdir
        self.networks = networks
        self.environment = environment
        self.capabilitiesToAdd = capabilitiesToAdd
        self.capabilitiesToDrop = capabilitiesToDrop
        self.userNamespace = userNamespace
        self.detach = detach
        self.autoRemove = autoRemove
        self.publish = publish
    }
}

public enum RunOutcome: Sendable, Equatable {
    /// `-d`: the container runs on, watched by a monitor process.
    case detached(Container)
    /// Foreground: the command's exit status (128+N when killed by signal N).
    case exited(Int32)
}

extension Swnet {
    public static func validateContainerName(_ name: String) throws(SwnetError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 128, allowed, name.first != ".", name.first != "-", name.first != "_" else {
            throw SwnetError("invalid container name '\(name)': use letters, digits, '-', '_' or '.', starting with a letter or digit")
        }
    }

    public func run(_ request: RunRequest) throws -> RunOutcome {
        guard !request.command.isEmpty else { throw SwnetError("missing command: swnet run [OPTIONS] -- COMMAND [ARG...]") }
        if let name = request.name { try Self.validateContainerName(name) }
        for variable in request.environment where !variable.contains("=") || variable.hasPrefix("=") {
            throw SwnetError("invalid environment variable '\(variable)': expected KEY=VALUE")
        }
        let capabilities = try CapabilitySet.dockerDefault.adding(request.capabilitiesToAdd).removing(request.capabilitiesToDrop)
        if !request.publish.isEmpty && request.networks.isEmpty {
            throw SwnetError("publishing ports needs a network: add --network NETWORK")
        }
        try requireNetworkPrivileges(for: "run")
        for choice in request.networks {
            if try store.network(named: choice.network) == nil && choice.address == nil {
                throw SwnetError("network \(choice.network) does not exist; create it or give NETWORK:IP/LEN")
            }
        }
        let id = Self.newContainerID()
        let name = request.name ?? String(id.prefix(12))
        var container = Container(
            id: id, name: name, command: request.command, hostname: request.hostname ?? String(id.prefix(12)),
            rootfs: request.rootfs, pid: nil, pidStartTime: nil, owner: getpid(), ownerStartTime: ProcessTable.startTime(of: getpid()), namespaceID: nil, networks: request.networks.map(\.network),
            capabilities: capabilities.names, autoRemove: request.autoRemove, detached: request.detach, status: .created,
            exitCode: nil, created: Int64(time(nil)), started: nil, finished: nil)
        var spec = ContainerSpec(command: request.command, environment: request.environment.isEmpty ? Self.defaultEnvironment : request.environment,
                                 hostname: container.hostname, rootfs: request.rootfs, workdir: request.workdir,
                                 userNamespace: request.userNamespace, capabilities: capabilities)
        try ContainerProcess.validate(spec)
        do {
            // The record names its owner (this process): gc tells a start in progress from one
            // that died part-way by whether the owner still lives.
            let lock = try store.lock(.exclusive)
            defer { withExtendedLifetime(lock) {} }
            guard try store.claimContainerName(name, id: id) else { throw SwnetError("container name \(name) is already in use") }
            try store.save(container)
        }
        guard request.detach else {
            let process = try start(&container, spec: spec, networks: request.networks, publish: request.publish)
            swnet_forward_signals(process.pid)
            let status = process.wait()
            try finish(&container, status: status)
            return .exited(status)
        }
        return try runDetached(&container, spec: &spec, networks: request.networks, publish: request.publish)
    }

    /// `-d`: a monitor process in its own session becomes the init's parent, so it can reap it,
    /// record the exit status and honour --rm; the caller returns once the command runs.
    private func runDetached(_ container: inout Container, spec: inout ContainerSpec, networks: [RunRequest.NetworkChoice],
                             publish: [PortSpec]) throws -> RunOutcome {
        let log = open(store.containerLogPath(id: container.id), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard log >= 0 else { throw SystemError("create log of \(container.name)") }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        spec.standardInput = null
        spec.standardOutput = log
        spec.standardError = log
        var report: [Int32] = [0, 0]
        guard pipe(&report) == 0 else { throw SystemError("pipe") }
        let monitor = swnet_fork_session()
        guard monitor >= 0 else { throw SystemError("fork monitor", errno: -monitor) }
        if monitor > 0 {
            close(report[1])
            let message = Self.readAll(report[0])
            close(report[0])
            close(log)
            close(null)
            guard message == "started" else { throw SwnetError(message.isEmpty ? "the container monitor died while starting \(container.name)" : message) }
            return .detached(try store.container(id: container.id) ?? container)
        }
        // The monitor: nothing of the caller's terminal stays open, so `$(swnet run -d ...)` returns.
        close(report[0])
        for fd: Int32 in 0...2 { dup2(null, fd) }
        let outcome: String
        var process: ContainerProcess?
        do {
            process = try start(&container, spec: spec, networks: networks, publish: publish)
            outcome = "started"
        } catch {
            outcome = "\(error)"
        }
        _ = outcome.withCString { write(report[1], $0, strlen($0)) }
        close(report[1])
        if let process { try? finish(&container, status: process.wait()) }
        exit(0)
    }

    /// Clones the init, attaches its networks, records it and lets the command run. Undoes all
    /// of it when a step fails.
    private func start(_ container: inout Container, spec: ContainerSpec, networks: [RunRequest.NetworkChoice],
                       publish specs: [PortSpec]) throws -> ContainerProcess {
        let process: ContainerProcess
        do {
            process = try ContainerProcess.create(spec)
        } catch {
            try? forget(container)
            throw error
        }
        do {
            container.owner = getpid()
            container.ownerStartTime = ProcessTable.startTime(of: getpid())
            container.pid = process.pid
            container.pidStartTime = ProcessTable.startTime(of: process.pid)
            container.namespaceID = try resolver.resolve("pid:\(process.pid)").namespaceID
            for choice in networks {
                var request = AttachRequest(target: "pid:\(process.pid)", network: choice.network, address: choice.address)
                request.targetLabel = "container \(container.name)"
                request.rate = choice.rate
                try attach(request)
            }
            if !specs.isEmpty {
                let target = try resolver.resolve("pid:\(process.pid)", label: "container \(container.name)")
                _ = try publish(target, specs: specs, network: networks.first?.network)
            }
            // Recorded as running just before the release: if swnet dies in between, the init
            // sees its start gate close and exits, and the record turns to exited.
            container.status = .running
            container.started = Int64(time(nil))
            try saveLocked(container)
            try process.release()
            return process
        } catch {
            process.signal(SIGKILL)
            _ = process.wait()
            try? forget(container)
            throw error
        }
    }

    /// Records how the command ended; with --rm, removes the container (unless `swnet rm`
    /// or gc already did).
    private func finish(_ container: inout Container, status: Int32) throws {
        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        guard try store.container(id: container.id) != nil else { return }
        container.status = .exited
        container.exitCode = status
        container.finished = Int64(time(nil))
        try releaseNetworksLocked(of: container)
        if container.autoRemove {
            try store.removeContainer(container)
        } else {
            try store.save(container)
        }
    }

    private func forget(_ container: Container) throws {
        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        try releaseNetworksLocked(of: container)
        try store.removeContainer(container)
    }

    private func saveLocked(_ container: Container) throws {
        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        try store.save(container)
    }

    /// Releases the addresses of a container whose init is gone. Its veths are not deleted
    /// here: the network namespace dies with its last process and the kernel removes them with
    /// it, in the background, instead of making this call wait ~20 ms for RCU per link.
    /// The caller holds the lock.
    func releaseNetworksLocked(of container: Container) throws {
        guard let namespaceID = container.namespaceID else { return }
        try removePublicationsLocked(namespaceID: namespaceID)
        for network in try store.networkNames() {
            if let attachment = try store.attachment(network: network, namespaceID: namespaceID) { try release(attachment) }
        }
    }

    static let defaultEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]

    /// 64 random hex digits, as Docker's ids.
    static func newContainerID() -> String { RandomID.hex(bytes: 32) }

    static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 { bytes += buffer[0..<count] } else if count == 0 || errno != EINTR { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
