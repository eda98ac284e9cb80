/// The one place a TARGET is resolved, in this order:
/// - `pid:N`, `netns:NAME`, `container:NAME`, `podman:NAME`, `docker:NAME` force a kind;
/// - a bare number is a PID, anything with a `/` a namespace path;
/// - a swnet container's name or unique id prefix (when this `Swnet` has a container runtime);
/// - a namespace in /run/netns;
/// - a podman, then a docker container, when that engine is installed.
extension Swnet {
    public func resolveTarget(_ text: String) throws -> ResolvedTarget {
        if let name = text.stripping(prefix: "container:") {
            guard let target = try containerRegistry?.target(named: name, in: self) else { throw SwnetError.noSuchContainer(name) }
            return target
        }
        if let name = text.stripping(prefix: "podman:") { return try engineTarget(.podman, name) }
        if let name = text.stripping(prefix: "docker:") { return try engineTarget(.docker, name) }
        if text.hasPrefix("pid:") || text.hasPrefix("netns:") || text.contains("/") || text.allSatisfy(\.isASCIIDigit) {
            return try resolver.resolve(text)
        }
        if let target = try containerRegistry?.target(named: text, in: self) { return target }
        if Files.exists("\(resolver.netnsDirectory)/\(text)") { return try resolver.resolve(text) }
        for engine in ContainerEngine.allCases where Subprocess.find(engine.rawValue) != nil {
            if let pid = try engine.pid(of: text) { return try resolver.resolve("pid:\(pid)", label: "\(engine.rawValue) \(text)") }
        }
        throw SwnetError.notFound("unknown target '\(text)': not a PID, a swnet container, a namespace in \(resolver.netnsDirectory), a namespace file or a podman/docker container")
    }

    private func engineTarget(_ engine: ContainerEngine, _ name: String) throws -> ResolvedTarget {
        guard Subprocess.find(engine.rawValue) != nil else { throw SwnetError("\(engine.rawValue) is not installed") }
        guard let pid = try engine.pid(of: name) else {
            throw SwnetError.notFound("no running \(engine.rawValue) container named '\(name)'")
        }
        return try resolver.resolve("pid:\(pid)", label: "\(engine.rawValue) \(name)")
    }
}

/// Container engines swnet can find a PID through, by their own CLI.
enum ContainerEngine: String, CaseIterable {
    case podman, docker

    /// The PID of a running container, nil when the engine knows no such running container.
    func pid(of name: String) throws -> Int32? {
        guard let program = Subprocess.find(rawValue) else { return nil }
        let result = try Subprocess.run([program, "inspect", "--type", "container", "--format", "{{.State.Pid}}", name])
        guard result.status == 0, let pid = Int32(result.output.split(separator: "\n").first ?? ""), pid > 0 else { return nil }
        return pid
    }
}
