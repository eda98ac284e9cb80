extension Swnet {
    /// A swnet container by name, full id or unique id prefix, as Docker resolves them.
    public func container(matching text: String) throws -> Container {
        guard let container = try containerIfAny(matching: text) else { throw SwnetError("no such container: \(text)") }
        return container
    }

    func containerIfAny(matching text: String) throws -> Container? {
        guard !text.isEmpty else { return nil }
        if let id = try store.containerID(named: text), let container = try store.container(id: id) { return container }
        guard text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        // Every TARGET that looks like hex (a netns named "c1" does) comes here: match on the
        // record names and read only the records that match.
        let matches = try store.containerIDs().filter { $0.hasPrefix(text) }.compactMap { try store.container(id: $0) }
        if matches.count > 1 {
            let names = matches.map { "\($0.shortID) (\($0.name))" }.sorted().joined(separator: ", ")
            throw SwnetError("container id prefix '\(text)' is ambiguous: \(names)")
        }
        return matches.first
    }
}
