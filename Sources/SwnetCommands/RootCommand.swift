#if canImport(Glibc)
import Glibc
#endif
import JSON
import SwnetContainers
import SwnetCore

/// `swnet`: the command tree. Kept in a library so tests can walk and parse it.
public enum SwnetCommand {
    static let definition = CommandDefinition(
        group: "swnet",
        abstract: "Wire containers into networks by talking to the kernel directly.",
        version: "0.1.0",
        subcommands: [
            NetworkCommand.definition, AttachCommand.definition, DetachCommand.definition,
            PublishCommand.definition, UnpublishCommand.definition, PortCommand.definition,
            RunCommand.definition, ExecCommand.definition, PsCommand.definition, InspectCommand.definition,
            StopCommand.definition, KillCommand.definition, RemoveCommand.definition, LogsCommand.definition,
            GCCommand.definition, OverlayCommand.definition,
            RouteCommand.definition, RuleCommand.definition, TcCommand.definition, WaitCommand.definition,
            CompletionCommand.definition, CompleteCommand.definition, ManCommand.definition,
        ]
    )

    /// What `arguments` (without the program name) ask for, without running it.
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        try definition.parse(arguments)
    }

    /// Parses and runs, turning every failure into one line on stderr: usage errors exit with
    /// 64 (EX_USAGE), failures of the command itself with 1 (or the status a `CommandFailure`
    /// names). Help and the version go to stdout.
    public static func runFromCommandLine(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let invocation: Invocation
        do {
            invocation = try parse(arguments)
        } catch {
            printError("swnet: \(error)")
            exit(64)
        }
        switch invocation {
        case .help(let path):
            print(path.help, terminator: "")
        case .version(let version):
            print("swnet \(version) (commit \(buildCommit))")
        case .run(let command):
            do {
                try command.run()
            } catch let error as UsageError {
                printError("swnet: \(error)")  // found only once running, e.g. a template's unknown field
                exit(64)
            } catch {
                printError("swnet: \("\(error)".split(separator: "\n").first ?? "failed")")
                exit((error as? CommandFailure)?.exitStatus ?? 1)
            }
        }
        exit(0)
    }
}

/// A failure with an exit status of its own (run and exec exit as docker's).
protocol CommandFailure: Error {
    var exitStatus: Int32 { get }
}

/// `--root DIR` and how much to log: every command that touches state takes them.
struct GlobalOptions {
    static let root = Option<String?>("root", value: "DIR", help: "Keep all state under DIR (also: $SWNET_ROOT).",
                                      completes: .directories)
    static let logLevel = Option<LogLevel?>(
        "log-level", value: "LEVEL", help: "error, warn, info or debug: how much to log (default: warn; info for the overlay agent; also: $SWNET_LOG_LEVEL).",
        completes: .choices(LogLevel.allCases.map(\.name)), transform: Parse.logLevel)
    static let debug = Option<Bool>(flag: "debug", help: "Same as --log-level debug.")
    static let noFastPath = Option<Bool>(flag: "no-fast-path",
                                         help: "Attach without the eBPF fast path: neighbours talk through the bridge (also: SWNET_FAST_PATH=off).")
    static let declarations: [any AnyOption] = [root, logLevel, debug, noFastPath]

    let root: String?
    let noFastPath: Bool
    /// nil: $SWNET_LOG_LEVEL, or the command's default.
    let logLevel: LogLevel?

    init(_ values: ParsedValues) {
        root = values[Self.root]
        logLevel = values[Self.debug] ? .debug : values[Self.logLevel]
        noFastPath = values[Self.noFastPath]
    }

    /// The level asked for, by option or $SWNET_LOG_LEVEL (an unknown word there is ignored):
    /// warnings and errors by default, what a long-running agent does with `.info`.
    func effectiveLogLevel(default: LogLevel = .warning) -> LogLevel {
        logLevel ?? environment("SWNET_LOG_LEVEL").flatMap(LogLevel.init(name:)) ?? `default`
    }

    /// The library for the command to run, logging as asked.
    func makeSwnet() -> Swnet {
        Log.level = effectiveLogLevel()
        let swnet = Swnet(location: StateLocation.resolve(root: root), containers: ContainerRuntime())
        if noFastPath { swnet.usesFastPath = false }
        return swnet
    }
}

/// `--json`: every command that reports something takes it.
struct OutputOptions {
    static let json = Option<Bool>(flag: "json", help: "Print JSON for scripts.")
    static let declarations: [any AnyOption] = [json]

    let json: Bool

    init(_ values: ParsedValues) {
        json = values[Self.json]
    }
}

/// A variable of the environment; nil when unset or empty, as if not given.
func environment(_ name: String) -> String? {
    guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
    return value
}

func printJSON(_ value: some JSONRepresentable) {
    print(value.json.serialized(pretty: true))
}

/// One line on stderr, written directly: the C `stderr` global is not concurrency-safe in Swift 6.
/// Under systemd, with journald's error priority, so `journalctl -p err` shows why a unit failed.
func printError(_ line: String) {
    writeLogLine(.error, line, to: 2, plain: "")
}

/// One line written at once, so that it reaches a file or pipe immediately (stdout's buffer
/// would hold a long-running command's log).
func writeLine(_ line: String, to descriptor: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}
