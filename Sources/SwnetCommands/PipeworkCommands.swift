#if canImport(Glibc)
import Glibc
#endif
import SwnetCore

/// `swnet route|rule|tc TARGET ARGS...`: pipework's way to run iproute2 inside a container.
/// The three differ only in the tool, so they share their options, parsing and running here.
protocol NamespaceToolCommand: RunnableCommand {
    static var tool: NamespaceTool { get }
    var invocation: NamespaceToolInvocation { get }
    init(invocation: NamespaceToolInvocation)
}

struct NamespaceToolInvocation {
    static let target = Argument<String>(
        "TARGET", help: "Container, PID, namespace name or namespace path (as for attach).", completes: .targets)
    static let arguments = Argument<[String]>(
        variadic: "ARGS", minimum: 1, help: "The tool's arguments (put -- before ones that start with '-').")

    let global: GlobalOptions
    let target: String
    let arguments: [String]
}

extension NamespaceToolCommand {
    static func makeDefinition() -> CommandDefinition {
        let command = tool == .tc ? "tc" : "ip \(tool.rawValue)"
        return CommandDefinition(
            tool.rawValue,
            abstract: "Run `\(command) ARGS...` inside the target's network namespace.",
            discussion: "TARGET is resolved as for attach. The exit status is \(command)'s.",
            usage: "swnet \(tool.rawValue) TARGET [--] ARGS...",
            arguments: [NamespaceToolInvocation.target, NamespaceToolInvocation.arguments],
            options: GlobalOptions.declarations, runs: Self.self)
    }

    init(from values: ParsedValues) {
        self.init(invocation: NamespaceToolInvocation(
            global: GlobalOptions(values), target: values[NamespaceToolInvocation.target],
            arguments: values[NamespaceToolInvocation.arguments]))
    }

    func run() throws {
        let swnet = invocation.global.makeSwnet()
        exit(try swnet.runInNamespace(of: invocation.target, tool: Self.tool, arguments: invocation.arguments))
    }
}

struct RouteCommand: NamespaceToolCommand {
    static let tool = NamespaceTool.route
    static let definition = makeDefinition()
    let invocation: NamespaceToolInvocation
}

struct RuleCommand: NamespaceToolCommand {
    static let tool = NamespaceTool.rule
    static let definition = makeDefinition()
    let invocation: NamespaceToolInvocation
}

struct TcCommand: NamespaceToolCommand {
    static let tool = NamespaceTool.tc
    static let definition = makeDefinition()
    let invocation: NamespaceToolInvocation
}

/// `swnet wait`: for a container's entrypoint, run inside the container.
struct WaitCommand: RunnableCommand {
    static let interface = Option<String?>(short: "i", value: "IFNAME", help: "The interface to wait for (default: eth0).")
    static let timeout = Option<Double?>("timeout", value: "S", help: "Give up after S seconds (default: 30).") { text throws(UsageError) in
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else {
            throw UsageError("invalid timeout '\(text)': expected seconds, like 5 or 0.5")
        }
        return seconds
    }

    static let definition = CommandDefinition(
        "wait",
        abstract: "Wait until an interface of this namespace is up, has carrier and an address.",
        discussion: """
        Run inside a container (e.g. first in its entrypoint) to start the command only once swnet \
        attach has finished: the link must be up with carrier and have an address, not just exist. \
        Exits non-zero with a line saying what is missing when the timeout passes.
        """,
        options: [interface, timeout], runs: Self.self)

    let interface: String
    let timeout: Double

    init(from values: ParsedValues) {
        interface = values[Self.interface] ?? "eth0"
        timeout = values[Self.timeout] ?? 30
    }

    func run() throws {
        try InterfaceWait.wait(for: interface, timeout: timeout)
    }
}
