import JSON

/// Container records: `run/containers/ID.json`, names claimed with O_EXCL in
/// `run/container-names/NAME` so that two `swnet run --name x` can never both win.
extension StateStore {
    private var containersDirectory: String { "\(location.run)/containers" }
    private var namesDirectory: String { "\(location.run)/container-names" }

    func containerLogPath(id: String) -> String { "\(containersDirectory)/\(id).log" }

    func containers() throws -> [Container] {
        try Files.list(containersDirectory).filter { $0.hasSuffix(".json") }.compactMap { name in
            guard let text = try Files.readString("\(containersDirectory)/\(name)") else { return nil }
            return try Container(json: JSON(parsing: text))
        }
    }

    /// The ids of all containers, from the record names alone.
    func containerIDs() throws -> [String] {
        try Files.list(containersDirectory).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
    }

    func container(id: String) throws -> Container? {
        guard let text = try Files.readString("\(containersDirectory)/\(id).json") else { return nil }
        return try Container(json: JSON(parsing: text))
    }

    func containerID(named name: String) throws -> String? {
        try Files.readString("\(namesDirectory)/\(name)")
    }

    /// Claims `name` for container `id`; false when another container has it.
    func claimContainerName(_ name: String, id: String) throws -> Bool {
        try Files.makeDirectories(namesDirectory)
        return try Files.createExclusive("\(namesDirectory)/\(name)", id)
    }

    func save(_ container: Container) throws {
        try Files.makeDirectories(containersDirectory)
        try Files.writeAtomically("\(containersDirectory)/\(container.id).json", container.json.serialized() + "\n")
    }

    func removeContainer(_ container: Container) throws {
        if try containerID(named: container.name) == container.id { try Files.remove("\(namesDirectory)/\(container.name)") }
        try Files.remove(containerLogPath(id: container.id))
        try Files.remove("\(containersDirectory)/\(container.id).json")
    }

    /// Name claims whose container record is missing: a `swnet run` killed between claiming
    /// the name and writing the record (both happen under the lock the caller holds).
    func orphanContainerNames() throws -> [String] {
        try Files.list(namesDirectory).filter { name in
            guard let id = try containerID(named: name) else { return false }
            return try container(id: id) == nil
        }
    }

    func releaseContainerName(_ name: String) throws {
        try Files.remove("\(namesDirectory)/\(name)")
    }
}
