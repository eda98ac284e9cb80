#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher

/// The iproute2 tools `swnet route|rule|tc` run inside a target's namespace.
public enum NamespaceTool: String, Sendable, CaseIterable {
    case route, rule, tc

    var program: String { self == .tc ? "tc" : "ip" }

    /// The tool's command line: `ip [OPTIONS] route|rule ARGS`, `tc ARGS`. Leading options
    /// (`-6`, `-json`) go before the object, where `ip` expects them.
    public func commandLine(_ arguments: [String]) -> [String] {
        guard self != .tc else { return arguments }
        let options = arguments.prefix { $0.hasPrefix("-") }
        return Array(options) + [rawValue] + arguments.dropFirst(options.count)
    }
}

extension Swnet {
    /// Runs `ip route|rule ARGS` or `tc ARGS` inside TARGET's network namespace (resolved as
    /// attach resolves it) with this process's stdio, and returns the tool's exit status. The
    /// namespace is entered in a forked child right before exec (through the already opened
    /// namespace, so a PID reused meanwhile cannot redirect it).
    public func runInNamespace(of target: String, tool: NamespaceTool, arguments: [String]) throws -> Int32 {
        try requireNetworkPrivileges(for: tool.rawValue)
        let resolved = try resolveTarget(target)
        guard let program = Subprocess.findSystemTool(tool.program) else {
            throw SwnetError("\(tool.program) (iproute2) is not installed")
        }
        let argv = ([program] + tool.commandLine(arguments)).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = swnet_run_in_netns(resolved.namespace.fd, argv, environ)
        guard status >= 0 else { throw SystemError("run \(program) in \(resolved.label)", errno: -status) }
        return status
    }
}

extension Subprocess {
    /// A system tool on $PATH, or in the sbin directories a user's $PATH often lacks.
    static func findSystemTool(_ program: String) -> String? {
        find(program) ?? ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }
}
