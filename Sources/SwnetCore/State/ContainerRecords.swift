import JSON
import Netlink

/// The `containers` table, for the container runtime above the verbs (SwnetContainers): a
/// record per container keyed by id, its name unique (two `swnet run --name x` can never both
/// win), indexed by name and namespace. The state keeps the records; what they mean is the
/// runtime's. They share the database so that a start records its container, attachments and
/// publications in one transaction.
extension StateTransaction {
    package func containerRecords() throws -> [JSON] {
        try containerRecords("SELECT record FROM containers")
    }

    package func containerRecord(id: String) throws -> JSON? {
        try containerRecords("SELECT record FROM containers WHERE id = ?", .text(id)).first
    }

    package func containerRecord(named name: String) throws -> JSON? {
        try containerRecords("SELECT record FROM containers WHERE name = ?", .text(name)).first
    }

    /// Up to two records whose id starts with `prefix` (two: the prefix is ambiguous).
    /// Ids are hex digits, all below DEL: the range scan covers exactly the prefix.
    package func containerRecords(idPrefix prefix: String) throws -> [JSON] {
        try containerRecords("SELECT record FROM containers WHERE id >= ? AND id < ? LIMIT 2", .text(prefix), .text(prefix + "\u{7f}"))
    }

    private func containerRecords(_ sql: String, _ values: SQLValue...) throws -> [JSON] {
        var found: [JSON] = []
        try database.query(sql, values) { found.append(try JSON(parsing: $0.text(0))) }
        return found
    }

    /// Adds a record; false (and nothing written) when its name is taken.
    package func insertContainerRecord(id: String, name: String, namespace: NamespaceIdentity?, record: JSON) throws -> Bool {
        try database.run("INSERT OR IGNORE INTO containers (id, name, namespace, record) VALUES (?, ?, ?, ?)",
                         .text(id), .text(name), SQLValue(namespace?.description), .text(record.serialized())) > 0
    }

    package func updateContainerRecord(id: String, namespace: NamespaceIdentity?, record: JSON) throws {
        try database.run("UPDATE containers SET namespace = ?, record = ? WHERE id = ?",
                         SQLValue(namespace?.description), .text(record.serialized()), .text(id))
    }

    package func removeContainerRecord(id: String) throws {
        try database.run("DELETE FROM containers WHERE id = ?", .text(id))
    }
}
