#if canImport(Glibc)
import Glibc
#endif
import Netlink
import SwnetCore

/// swnet's container runtime as the verbs see it: its containers' names and id prefixes
/// resolve as targets of every verb, and `swnet gc` sweeps their records.
public struct ContainerRuntime: ContainerRegistry {
    public init() {}

    package func target(named text: String, in swnet: Swnet) throws -> ResolvedTarget? {
        guard let container = try swnet.containerIfAny(matching: text) else { return nil }
        guard container.isRunning, let pid = container.pid else { throw SwnetError.containerNotRunning(container.name) }
        return try swnet.resolver.resolve("pid:\(pid)", label: "container \(container.name)")
    }

    /// A start that died part-way (owner gone before the container ran) is undone; a container
    /// whose init died unrecorded is marked exited, or removed with --rm; an exited container
    /// keeps no addresses or interfaces.
    package func collectGarbage(in swnet: Swnet, state: borrowing StateTransaction, into report: inout CollectionReport) throws {
        for var container in try state.containers() {
            switch container.status {
            case .created where !container.ownerIsAlive:
                container.killInit()
                try swnet.releaseNetworks(of: container, in: state)
                try swnet.removeRecord(of: container, in: state)
                report.removedContainers.append(container.name)
            case .running where !container.isRunning:
                try swnet.releaseNetworks(of: container, in: state)
                if container.autoRemove {
                    try swnet.removeRecord(of: container, in: state)
                    report.removedContainers.append(container.name)
                } else {
                    container.status = .exited
                    container.finished = Int64(time(nil))
                    try state.save(container)
                    report.exitedContainers.append(container.name)
                }
            case .exited:
                try swnet.releaseNetworks(of: container, in: state)
            default:
                continue
            }
        }
    }
}

extension Swnet {
    /// An instance with swnet's container runtime (see `ContainerRuntime`), as the CLI makes.
    public convenience init(location: StateLocation, hostNamespace: NetworkNamespace? = nil, resolver: TargetResolver = TargetResolver(),
                            containers: ContainerRuntime) {
        self.init(location: location, hostNamespace: hostNamespace, resolver: resolver)
        containerRegistry = containers
    }
}
