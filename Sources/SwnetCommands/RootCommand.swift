#if canImport(Glibc)
import Glibc
#endif
import JSON
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
        ]
    )

    /// What `arguments` (without the program name) ask for, without running it.
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        try definition.parse(arguments)
    }

    /// Parses and runs, turning every failure into one line on stderr: usage errors exit with
    /// 64 (EX_USAGE), failures of the command itself with 1. Help and the version go to stdout.
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
            print(version)
        case .run(let command):
            do {
                try command.run()
            } catch {
                printError("swnet: \("\(error)".split(separator: "\n").first ?? "failed")")
                exit(1)
            }
        }
        exit(0)
    }
}

/// `--root DIR`: every command that touches state takes it.
struct GlobalOptions {
    static let root = Option<String?>("root", value: "DIR", help: "Keep all state under DIR (also: $SWNET_ROOT).")
    static let noFastPath = Option<Bool>(flag: "no-fast-path",
                                         help: "Attach without the eBPF fast path: neighbours talk through the bridge (also: SWNET_FAST_PATH=off).")
    static let declarations: [any AnyOption] = [root, noFastPath]

    let root: String?
    let noFastPath: Bool

    init(_ values: ParsedValues) {
        root = values[Self.root]
        noFastPath = values[Self.noFastPath]
    }

    func makeSwnet() -> Swnet {
        let swnet = Swnet(location: StateLocation.resolve(root: root))
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

func printJSON(_ value: some JSONRepresentable) {
    print(value.json.serialized(pretty: true))
}

/// One line on stderr, written directly: the C `stderr` global is not concurrency-safe in Swift 6.
func printError(_ line: String) {
    writeLine(line, to: 2)
}

/// One line written at once, so that it reaches a file or pipe immediately (stdout's buffer
/// would hold a long-running command's log).
func writeLine(_ line: String, to descriptor: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}
