#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher
import IPAM
import SwnetCore

/// What `swnet run` asks for.
public struct RunRequest: Sendable {
    public struct NetworkChoice: Sendable, Equatable {
        public var network: String
        /// At most one per family; a family of the network left out gets an allocated address.
        public var addresses: [InterfaceAddress]
        /// `--rate`: a tbf on this network's interface, both ways (see `AttachRequest.rate`).
        public var rate: RateLimit?
        /// `NETWORK:dhcp[:OPTIONS]`: the address comes from a DHCP server on NETWORK (a swnet
        /// network, a bridge, or a host interface for a macvlan), as `attach TARGET NETWORK dhcp`.
        public var dhcp: DHCPRequest?

        public init(network: String, addresses: [InterfaceAddress] = []) {
            self.network = network
            self.addresses = addresses
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
    /// `-d`: starts this executable again as the container's monitor, so its main must hand
    /// `ContainerMonitor.argument` to `ContainerMonitor.main` before anything else (swnet's does).
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
            throw SwnetError.invalid("invalid container name '\(name)': use letters, digits, '-', '_' or '.', starting with a letter or digit")
        }
    }

    public func run(_ request: RunRequest) throws -> RunOutcome {
        guard !request.command.isEmpty else { throw SwnetError("missing command: swnet run [OPTIONS] -- COMMAND [ARG...]") }
        if let name = request.name { try Self.validateContainerName(name) }
        for variable in request.environment where !variable.contains("=") || variable.hasPrefix("=") {
            throw SwnetError.invalid("invalid environment variable '\(variable)': expected KEY=VALUE")
        }
        let capabilities = try CapabilitySet.dockerDefault.adding(request.capabilitiesToAdd).removing(request.capabilitiesToDrop)
        if !request.publish.isEmpty && request.networks.isEmpty {
            throw SwnetError.invalid("publishing ports needs a network: add --network NETWORK")
        }
        if !request.publish.isEmpty, let first = request.networks.first, first.dhcp != nil {
            throw SwnetError.invalid("ports are published on the first --network, and \(first.network):dhcp has no address swnet assigns: put a network swnet addresses first")
        }
        try requireNetworkPrivileges(for: "run")
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
        // The record names its owner (this process): gc tells a start in progress from one
        // that died part-way by whether the owner still lives. From here on the name finds
        // the container, so `swnet rm -f NAME` reaches it whatever happens to this process.
        // Networks and ports are checked in the same transaction, before anything is made.
        try store.write { state in
            for choice in request.networks where choice.dhcp != nil {
                if try state.network(namedOrBridge: choice.network) == nil, try hostNetlink().link(named: choice.network) == nil {
                    throw SwnetError.notFound("no network, bridge or interface named \(choice.network)")
                }
            }
            for choice in request.networks where choice.addresses.isEmpty && choice.dhcp == nil {
                if try state.network(named: choice.network) == nil {
                    throw SwnetError.notFound("network \(choice.network) does not exist; create it or give NETWORK:IP/LEN")
                }
            }
            if let first = request.networks.first {
                let families = try state.network(named: first.network)?.families ?? first.addresses.map(\.family)
                try checkPortsFree(request.publish, families: families, in: state)
            }
            try state.insert(container)
        }
        guard request.detach else {
            // Killed, this process takes the container with it: before the release its gate
            // closes, after it the kernel's parent-death signal kills the init.
            spec.diesWithCaller = true
            let process = try prepare(&container, spec: spec, networks: request.networks, publish: request.publish)
            try launch(&container, process)
            swnet_forward_signals(process.pid)
            let status = process.wait()
            try finish(&container, status: status)
            return .exited(status)
        }
        return try runDetached(container, start: DetachedStart(location: location, containerID: id, spec: spec,
                                                               networks: request.networks, publish: request.publish))
    }

    /// Clones the init, records it, attaches its networks and publishes its ports; the init
    /// waits at its gate. When a step fails, all of it is undone before the error is thrown.
    func prepare(_ container: inout Container, spec: ContainerSpec, networks: [RunRequest.NetworkChoice],
                 publish specs: [PortSpec]) throws -> ContainerProcess {
        let process: ContainerProcess
        do {
            process = try ContainerProcess.create(spec)
        } catch {
            undoStart(container, process: nil)
            throw error
        }
        do {
            container.owner = getpid()
            container.ownerStartTime = ProcessTable.startTime(of: getpid())
            container.pid = process.pid
            container.pidStartTime = ProcessTable.startTime(of: process.pid)
            let target = try resolver.resolve("pid:\(process.pid)", label: "container \(container.name)")
            container.namespaceID = target.namespaceID
            try saveStarting(container)
            try store.write { state in
                for choice in networks {
                    var request = AttachRequest(target: target.path, network: choice.network)
                    request.addresses = choice.addresses
                    request.rate = choice.rate
                    request.dhcp = choice.dhcp
                    // A DHCP attach commits its record before it waits for the lease (see
                    // attachInterface); a failure after that is undone by undoStart below.
                    if request.dhcp != nil {
                        try attachInterface(request, target: target, in: state)
                    } else {
                        try attach(request, target: target, in: state)
                    }
                }
                if !specs.isEmpty { _ = try publish(target, specs: specs, network: networks.first?.network, in: state) }
            }
            return process
        } catch {
            undoStart(container, process: process)
            throw error
        }
    }

    /// Records the container as running and lets its command run, unless `swnet rm` or gc
    /// removed the record meanwhile: a container never starts under a name that was freed.
    /// Recorded just before the release: if swnet dies in between, the init sees its gate
    /// close and exits, and the record turns to exited.
    func launch(_ container: inout Container, _ process: ContainerProcess) throws {
        do {
            container.status = .running
            container.started = Int64(time(nil))
            try saveStarting(container)
            try process.release()
        } catch {
            undoStart(container, process: process)
            throw error
        }
    }

    /// Undoes a start that failed or was abandoned, and returns once it is all gone: its host
    /// interfaces deleted (not left for the kernel to reap with the namespace), publications,
    /// addresses and record removed (unless rm or gc did already), its init killed and reaped.
    func undoStart(_ container: Container, process: ContainerProcess?) {
        try? store.write { state in
            try? releaseNetworks(of: container, deletingInterfaces: true, in: state)
            try? removeRecord(of: container, in: state)
        }
        process?.signal(SIGKILL)
        _ = process?.wait()
    }

    /// Saves the record of a container being started; throws when it was removed meanwhile.
    private func saveStarting(_ container: Container) throws {
        try store.write { state in
            guard try state.container(id: container.id) != nil else {
                throw SwnetError("container \(container.name) was removed while it started")
            }
            try state.save(container)
        }
    }

    /// Records how the command ended; with --rm, removes the container (unless `swnet rm`
    /// or gc already did).
    func finish(_ container: inout Container, status: Int32) throws {
        container.status = .exited
        container.exitCode = status
        container.finished = Int64(time(nil))
        try store.write { [container] state in
            guard try state.container(id: container.id) != nil else { return }
            try releaseNetworks(of: container, in: state)
            if container.autoRemove {
                try removeRecord(of: container, in: state)
            } else {
                try state.save(container)
            }
        }
    }

    /// Releases the addresses of a container and stops its DHCP clients. Its veths are deleted
    /// only when asked (a failed start): otherwise the network namespace dies with its last
    /// process and the kernel removes them with it, in the background, instead of making this
    /// call wait ~20 ms for RCU per link. (run makes no --direct or VLAN interface attachment,
    /// the only kinds that would outlive the namespace.)
    func releaseNetworks(of container: Container, deletingInterfaces: Bool = false, in state: borrowing StateTransaction) throws {
        guard let namespaceID = container.namespaceID else { return }
        try removePublications(namespaceID: namespaceID, in: state)
        let attachments = try state.attachments(namespaceID: namespaceID)
        if deletingInterfaces { try deleteLinks(named: attachments.map(\.hostInterface)) }
        for attachment in attachments { try release(attachment, in: state) }
        for record in try state.linkAttachments(namespaceID: namespaceID) {
            if deletingInterfaces {
                try undo(record, container: nil, in: state)
            } else {
                stopDHCPClient(of: record)
                try state.remove(record)
            }
        }
    }

    static let defaultEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]

    /// 64 random hex digits, as Docker's ids.
    static func newContainerID() -> String { RandomID.hex(bytes: 32) }
}
