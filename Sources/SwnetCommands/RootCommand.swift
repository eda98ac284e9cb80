import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import JSON
import SwnetCore

/// `swnet`: the command tree. Kept in a library so tests can walk and parse it.
public struct SwnetCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swnet",
        abstract: "Wire containers into networks by talking to the kernel directly.",
        version: "0.1.0",
        subcommands: [NetworkCommand.self, AttachCommand.self, DetachCommand.self, GCCommand.self]
    )

    public init() {}

    /// Parses and runs, turning every failure into one line on stderr and a non-zero status
    /// (help and --version still print in full).
    public static func runFromCommandLine(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = error is SwnetError ? "\(error)" : message(for: error)
            printError("swnet: \(message.split(separator: "\n").first ?? "failed")")
            Glibc.exit(code.rawValue)
        }
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Keep all state under DIR (also: $SWNET_ROOT).", valueName: "DIR"))
    var root: String?

    func makeSwnet() -> Swnet {
        Swnet(location: StateLocation.resolve(root: root))
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false
}

func printJSON(_ value: some JSONRepresentable) {
    print(value.json.serialized(pretty: true))
}

/// One line on stderr, written directly: the C `stderr` global is not concurrency-safe in Swift 6.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
