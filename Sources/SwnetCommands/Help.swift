/// Help generated from the command tree: the usage line, the abstract and discussion, then the
/// arguments, options and subcommands in two columns.
extension CommandPath {
    var help: String {
        var sections = ["USAGE: \(usageLine)", wrapped(command.abstract)]
        if let discussion = command.discussion { sections.append(wrapped(discussion)) }
        if !command.arguments.isEmpty {
            sections.append("ARGUMENTS:\n" + columns(command.arguments.map { ($0.name, $0.help) }))
        }
        var optionRows = command.options.map { ($0.label, $0.help) }
        optionRows.append(("-h, --help", "Show this help."))
        if command.version != nil { optionRows.append(("--version", "Show the version.")) }
        sections.append("OPTIONS:\n" + columns(optionRows))
        if !command.subcommands.isEmpty {
            let rows = command.visibleSubcommands.map { (([$0.name] + $0.aliases).joined(separator: ", "), $0.abstract) }
            sections.append("SUBCOMMANDS:\n" + columns(rows))
            sections.append("See '\(name) help SUBCOMMAND' for a subcommand's help.")
        }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// The command's own usage line, or one generated from its options and arguments.
    var usageLine: String { command.usage ?? generatedUsage }

    /// `swnet network create [OPTIONS] NAME --subnet CIDR`: required options are spelled out,
    /// the optional ones are left to the OPTIONS section.
    private var generatedUsage: String {
        var words = [name]
        if command.options.contains(where: { !$0.isRequired }) { words.append("[OPTIONS]") }
        for argument in command.arguments {
            switch argument.arity {
            case .required: words.append(argument.name)
            case .optional: words.append("[\(argument.name)]")
            case .variadic(let minimum): words.append(minimum > 0 ? "\(argument.name)..." : "[\(argument.name)...]")
            }
        }
        words += command.options.filter(\.isRequired).map(\.label)
        if !command.subcommands.isEmpty { words.append("SUBCOMMAND") }
        return words.joined(separator: " ")
    }
}

extension OptionDefinition {
    /// How help and errors show the option: `-f, --force`, `--mtu N`, `-i IFNAME`.
    var label: String {
        let names = [short.map { "-\($0)" }, long.map { "--\($0)" }].compactMap { $0 }.joined(separator: ", ")
        guard case .value(let valueName, _) = kind else { return names }
        return "\(names) \(valueName)"
    }
}

private let lineWidth = 80
private let labelColumn = 26

/// Rows of `label  text`, the text wrapped in its own column; a label too wide for its
/// column gets a line of its own.
private func columns(_ rows: [(label: String, text: String)]) -> String {
    let textIndent = String(repeating: " ", count: labelColumn)
    return rows.map { label, text in
        let lines = wrappedLines(text, width: lineWidth - labelColumn)
        let head = "  " + label
        let rest = lines.dropFirst().map { textIndent + $0 }
        guard head.count + 2 <= labelColumn else {
            return ([head] + lines.map { textIndent + $0 }).joined(separator: "\n")
        }
        let first = head + String(repeating: " ", count: labelColumn - head.count) + (lines.first ?? "")
        return ([first] + rest).joined(separator: "\n")
    }.joined(separator: "\n")
}

private func wrapped(_ text: String) -> String {
    wrappedLines(text, width: lineWidth).joined(separator: "\n")
}

/// Greedy word wrap; a word longer than the width stays whole on its own line.
private func wrappedLines(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
