#if canImport(Glibc)
import Glibc
#endif
import JSON
import Netlink

/// Container records: the `containers` table, keyed by id, its name unique (two
/// `swnet run --name x` can never both win) and indexed like its namespace. Logs stay files:
/// `run/containers/ID.log`.
extension StateTransaction {
    func containers() throws -> [Container] {
        try containers("SELECT record FROM containers")
    }

    func container(id: String) throws -> Container? {
        try containers("SELECT record FROM containers WHERE id = ?", .text(id)).first
    }

    func container(named name: String) throws -> Container? {
        try containers("SELECT record FROM containers WHERE name = ?", .text(name)).first
    }

    /// Up to two containers whose id starts with `prefix` (two: the prefix is ambiguous).
    /// Ids are hex digits, all below DEL: the range scan covers exactly the prefix.
    func containers(idPrefix prefix: String) throws -> [Container] {
        try containers("SELECT record FROM containers WHERE id >= ? AND id < ? LIMIT 2", .text(prefix), .text(prefix + "\u{7f}"))
    }

    private func containers(_ sql: String, _ values: SQLValue...) throws -> [Container] {
        var found: [Container] = []
        try database.query(sql, values) { found.append(try Container(json: JSON(parsing: $0.text(0)))) }
        return found
    }

    /// Records a new container; fails when its name is taken.
    func insert(_ container: Container) throws {
        let added = try database.run("INSERT OR IGNORE INTO containers (id, name, namespace, record) VALUES (?, ?, ?, ?)",
                                     .text(container.id), .text(container.name), SQLValue(container.namespaceID?.description),
                                     .text(container.json.serialized()))
        if added == 0 { throw SwnetError.containerNameInUse(container.name) }
    }

    func save(_ container: Container) throws {
        try database.run("UPDATE containers SET namespace = ?, record = ? WHERE id = ?",
                         SQLValue(container.namespaceID?.description), .text(container.json.serialized()), .text(container.id))
    }

    func removeContainer(_ container: Container) throws {
        try database.run("DELETE FROM containers WHERE id = ?", .text(container.id))
        try Files.remove("\(location.run)/containers/\(container.id).log")  // StateStore.containerLogPath
    }
}
