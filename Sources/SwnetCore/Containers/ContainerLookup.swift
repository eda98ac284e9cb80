extension Swnet {
    /// A swnet container by name, full id or unique id prefix, as Docker resolves them.
    public func container(matching text: String) throws -> Container {
        guard let container = try containerIfAny(matching: text) else { throw SwnetError.noSuchContainer(text) }
        return container
    }

    func containerIfAny(matching text: String) throws -> Container? {
        try store.read { state in try container(matching: text, in: state) }
    }

    /// By name, then by id prefix: two indexed lookups whatever the number of containers.
    func container(matching text: String, in state: borrowing StateTransaction) throws -> Container? {
        guard !text.isEmpty else { return nil }
        if let container = try state.container(named: text) { return container }
        // Every TARGET that looks like hex (a netns named "c1" does) comes here.
        guard text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        let matches = try state.containers(idPrefix: text)  // at most two: enough to call it ambiguous
        if matches.count > 1 {
            throw SwnetError("container id prefix '\(text)' is ambiguous: \(matches.map { "\($0.shortID) (\($0.name))" }.joined(separator: ", "))")
        }
        return matches.first
    }
}
