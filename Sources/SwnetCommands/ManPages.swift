#if canImport(Glibc)
import Glibc
#endif

/// Man pages generated from the command tree, like the help: one page a command, named after
/// its path (`swnet-network-create.1`), in man(7) markup.
extension CommandPath {
    /// `swnet-network-create`.
    var manName: String { commands.map(\.name).joined(separator: "-") }

    /// The page for this command. `environment` and `exitStatus` go on the top-level page.
    func manPage(version: String) -> String {
        var lines = [
            #".TH "\#(manName.uppercased())" 1 "" "swnet \#(version)" "swnet manual""#,
            ".SH NAME",
            "\(roff(manName)) \\- \(roff(command.abstract))",
            ".SH SYNOPSIS",
            ".nf",
            roff(usageLine),
            ".fi",
            ".SH DESCRIPTION",
            roff(command.abstract),
        ]
        if let discussion = command.discussion { lines += [".PP", roff(discussion)] }
        if !command.arguments.isEmpty {
            lines.append(".SH ARGUMENTS")
            for argument in command.arguments { lines += [".TP", "\\fI\(roff(argument.name))\\fR", roff(argument.help)] }
        }
        lines.append(".SH OPTIONS")
        for option in command.options { lines += [".TP", option.manLabel, roff(option.help)] }
        lines += [".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR", "Show the help."]
        if command.version != nil { lines += [".TP", "\\fB\\-\\-version\\fR", "Show the version and the commit it was built from."] }
        let subcommands = command.visibleSubcommands
        if !subcommands.isEmpty {
            lines.append(".SH COMMANDS")
            for subcommand in subcommands {
                lines += [".TP", "\\fB\(roff(appending(subcommand).manName))\\fR(1)", roff(subcommand.abstract)]
            }
        }
        if commands.count == 1 { lines += Self.rootSections }
        var seeAlso = subcommands.map { "\\fB\(roff(appending($0).manName))\\fR(1)" }
        if commands.count > 1 { seeAlso.insert("\\fB\(roff(CommandPath(commands: Array(commands.dropLast())).manName))\\fR(1)", at: 0) }
        if !seeAlso.isEmpty { lines += [".SH SEE ALSO", seeAlso.joined(separator: ",\n")] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What holds for every command, said once on swnet(1).
    private static let rootSections = [
        ".SH ENVIRONMENT",
        ".TP", "\\fBSWNET_ROOT\\fR", "Keep all state under this directory, as \\fB\\-\\-root\\fR.",
        ".TP", "\\fBSWNET_ETCD\\fR", "etcd endpoints of the overlay commands, as \\fB\\-\\-etcd\\fR.",
        ".TP", "\\fBSWNET_ETCD_CAFILE\\fR, \\fBSWNET_ETCD_CERTFILE\\fR, \\fBSWNET_ETCD_KEYFILE\\fR",
        "TLS files for etcd, as \\fB\\-\\-etcd\\-cafile\\fR, \\fB\\-\\-etcd\\-certfile\\fR and \\fB\\-\\-etcd\\-keyfile\\fR.",
        ".TP", "\\fBSWNET_LOG_LEVEL\\fR", "error, warn, info or debug, as \\fB\\-\\-log\\-level\\fR.",
        ".TP", "\\fBNOTIFY_SOCKET\\fR, \\fBJOURNAL_STREAM\\fR",
        "Set by systemd: the overlay agent reports READY=1 once joined, and prefixes its log lines with journald priorities.",
        ".SH EXIT STATUS",
        "0 on success, 1 when the command fails, 64 for a command line that does not fit the command. "
            + "\\fBrun\\fR and \\fBexec\\fR exit with the command's own status.",
    ]
}

extension OptionDefinition {
    /// `\fB\-\-subnet\fR \fICIDR\fR`.
    fileprivate var manLabel: String {
        let names = [short.map { "\\fB\\-\($0)\\fR" }, long.map { "\\fB\(roff("--" + $0))\\fR" }].compactMap { $0 }
        guard case .value(let valueName, _) = kind else { return names.joined(separator: ", ") }
        return names.joined(separator: ", ") + " \\fI\(roff(valueName))\\fR"
    }
}

/// Text as roff reads it literally: backslashes escaped, hyphens as minus signs (so options can
/// be searched and copied), and no line starting with a control character.
private func roff(_ text: String) -> String {
    let escaped = text.replacingAll("\\", with: "\\e").replacingAll("-", with: "\\-")
    return escaped.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
    }.joined(separator: "\n")
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}

/// `swnet __man DIR`: writes every command's page into DIR (scripts/install.sh calls it).
struct ManCommand: RunnableCommand {
    static let directory = Argument<String>("DIR", help: "Where to write the pages.", completes: .directories)

    static let definition = CommandDefinition(
        "__man", abstract: "Write the man pages of every command into DIR.", hidden: true,
        arguments: [directory], runs: Self.self)

    let directory: String

    init(from values: ParsedValues) {
        directory = values[Self.directory]
    }

    func run() throws {
        let root = SwnetCommand.definition
        var written: [String] = []
        func write(_ path: CommandPath) throws {
            let file = "\(directory)/\(path.manName).1"
            try writeFile(file, contents: path.manPage(version: root.version ?? ""))
            written.append(file)
            for subcommand in path.command.visibleSubcommands { try write(path.appending(subcommand)) }
        }
        try write(CommandPath(commands: [root]))
        written.forEach { print($0) }
    }
}

struct FileWriteError: Error, CustomStringConvertible {
    let path: String
    let errno: Int32
    var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}

/// Replaces a file's contents: written to a temporary name, then renamed over it.
func writeFile(_ path: String, contents: String) throws(FileWriteError) {
    let temporary = path + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileWriteError(path: path, errno: errno) }
    let bytes = Array(contents.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let failure = written == bytes.count ? 0 : errno
    close(fd)
    guard failure == 0, rename(temporary, path) == 0 else {
        let error = failure != 0 ? failure : errno
        unlink(temporary)
        throw FileWriteError(path: path, errno: error)
    }
}
