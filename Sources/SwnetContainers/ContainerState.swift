import JSON
import Netlink
import SwnetCore

/// Containers in the state's `containers` table (SwnetCore keeps the records; their meaning is
/// here). Logs stay files: `run/containers/ID.log`.
extension StateTransaction {
    func containers() throws -> [Container] {
        try containerRecords().map { try Container(json: $0) }
    }

    func container(id: String) throws -> Container? {
        try containerRecord(id: id).map { try Container(json: $0) }
    }

    func container(named name: String) throws -> Container? {
        try containerRecord(named: name).map { try Container(json: $0) }
    }

    /// Up to two containers whose id starts with `prefix` (two: the prefix is ambiguous).
    func containers(idPrefix prefix: String) throws -> [Container] {
        try containerRecords(idPrefix: prefix).map { try Container(json: $0) }
    }

    /// Records a new container; fails when its name is taken.
    func insert(_ container: Container) throws {
        guard try insertContainerRecord(id: container.id, name: container.name, namespace: container.namespaceID, record: container.json)
        else { throw SwnetError.containerNameInUse(container.name) }
    }

    func save(_ container: Container) throws {
        try updateContainerRecord(id: container.id, namespace: container.namespaceID, record: container.json)
    }
}

extension StateLocation {
    /// Where detached containers' logs are written.
    var containerLogs: String { "\(run)/containers" }

    func containerLogPath(id: String) -> String { "\(containerLogs)/\(id).log" }
}

extension Swnet {
    /// Forgets a container: its record and its log.
    func removeRecord(of container: Container, in state: borrowing StateTransaction) throws {
        try state.removeContainerRecord(id: container.id)
        try Files.remove(location.containerLogPath(id: container.id))
    }
}
