/// The parsing half: one pass over the arguments that walks into subcommands, tells options
/// from positionals and converts option values as it meets them.
///
/// Grammar: `--name value`, `--name=value`, `-x value`, `-xvalue`, clustered flags (`-aq`),
/// `--` ends the options, options and positionals mix in any order, and a group's first
/// positional names a subcommand (or is `help`, then the rest name the command to explain).
/// `-h`/`--help` anywhere before `--` asks for the help of the command reached, even when the
/// rest of the line is wrong: someone asking for help is usually in the middle of a mistake.
extension CommandDefinition {
    func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        var parser = CommandLineParser(root: self, arguments: arguments)
        do {
            try parser.scan()
        } catch {
            if parser.wantsHelp || parser.remainingOptions.contains(where: { $0 == "-h" || $0 == "--help" }) {
                return .help(parser.path)
            }
            throw error
        }
        return try parser.finish()
    }
}

private struct CommandLineParser {
    private(set) var path: CommandPath
    private(set) var wantsHelp = false
    private var wantsVersion = false
    private var values = ParsedValues()
    private var positionals: [String] = []
    private var remaining: ArraySlice<String>
    private var optionsEnded = false

    init(root: CommandDefinition, arguments: [String]) {
        path = CommandPath(commands: [root])
        remaining = arguments[...]
    }

    /// What is left before `--`: where a `--help` could still be.
    var remainingOptions: ArraySlice<String> {
        optionsEnded ? [] : remaining.prefix { $0 != "--" }
    }

    private var command: CommandDefinition { path.command }

    mutating func scan() throws(UsageError) {
        while let token = remaining.popFirst() {
            if optionsEnded || token == "-" || !token.hasPrefix("-") {
                try takePositional(token)
            } else if token == "--" {
                optionsEnded = true
            } else if token.hasPrefix("--") {
                try takeLongOption(token.dropFirst(2))
            } else {
                try takeShortOptions(token.dropFirst())
            }
        }
    }

    /// After the scan: the checks that need the whole line, then the command built from it.
    func finish() throws(UsageError) -> Invocation {
        if wantsHelp { return .help(path) }
        if wantsVersion, let version = command.version { return .version(version) }
        guard let makeCommand = command.makeCommand else { return .help(path) }
        for option in command.options where option.isRequired && values.options[option.key] == nil {
            throw UsageError("missing option '\(option.label)'", seeHelpOf: path)
        }
        var values = self.values
        values.arguments = try assignPositionals()
        return .run(try makeCommand(values))
    }

    // MARK: Positionals and subcommands

    private mutating func takePositional(_ token: String) throws(UsageError) {
        guard !command.subcommands.isEmpty else {
            positionals.append(token)
            return
        }
        if token == "help" && !wantsHelp {
            wantsHelp = true  // `swnet help network create`: the words that follow pick the command.
            return
        }
        guard let subcommand = command.subcommand(named: token) else {
            let names = command.visibleSubcommands.flatMap { [$0.name] + $0.aliases }
            throw unknown("subcommand", token, closest: closestWord(to: token, among: names + ["help"]))
        }
        path = path.appending(subcommand)
    }

    /// Hands the positionals to the declared arguments in order; a variadic one takes the rest.
    private func assignPositionals() throws(UsageError) -> [String: [String]] {
        var unassigned = positionals[...]
        var assigned: [String: [String]] = [:]
        for argument in command.arguments {
            switch argument.arity {
            case .required:
                guard let value = unassigned.popFirst() else {
                    throw UsageError("missing argument \(argument.name)", seeHelpOf: path)
                }
                assigned[argument.name] = [value]
            case .optional:
                assigned[argument.name] = unassigned.popFirst().map { [$0] } ?? []
            case .variadic(let minimum):
                guard unassigned.count >= minimum else {
                    throw UsageError("missing argument \(argument.name)", seeHelpOf: path)
                }
                assigned[argument.name] = Array(unassigned)
                unassigned = []
            }
        }
        if let extra = unassigned.first {
            throw UsageError("unexpected argument '\(extra)'", seeHelpOf: path)
        }
        return assigned
    }

    // MARK: Options

    private mutating func takeLongOption(_ body: Substring) throws(UsageError) {
        let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        let attachedValue = parts.count == 2 ? String(parts[1]) : nil
        switch name {
        case "help":
            wantsHelp = true
        case "version" where command.version != nil:
            wantsVersion = true
        default:
            guard let option = command.options.first(where: { $0.long == name }) else {
                var names = command.options.compactMap(\.long) + ["help"]
                if command.version != nil { names.append("version") }
                throw unknown("option", "--\(name)", closest: closestWord(to: name, among: names).map { "--\($0)" })
            }
            if case .flag = option.kind, attachedValue != nil {
                throw UsageError("option '--\(name)' takes no value", seeHelpOf: path)
            }
            try take(option, attachedValue: attachedValue)
        }
    }

    /// `-aq` is `-a -q`; the first letter that takes a value takes the rest of the word, or
    /// else the next argument.
    private mutating func takeShortOptions(_ letters: Substring) throws(UsageError) {
        var rest = letters
        while let letter = rest.popFirst() {
            if letter == "h" {
                wantsHelp = true
                continue
            }
            guard let option = command.options.first(where: { $0.short == letter }) else {
                // `-subnet` for `--subnet`: the whole word names a long option.
                let word = String(letters)
                let long = command.options.compactMap(\.long).first { $0 == word }.map { "--\($0)" }
                throw unknown("option", "-\(letter)", closest: long)
            }
            if case .value = option.kind {
                try take(option, attachedValue: rest.isEmpty ? nil : String(rest))
                return
            }
            try take(option, attachedValue: nil)
        }
    }

    /// One line either way: the closest valid word when there is one, else where to look.
    private func unknown(_ kind: String, _ word: String, closest: String?) -> UsageError {
        let message = "unknown \(kind) '\(word)' for '\(path.name)'"
        guard let closest else { return UsageError(message, seeHelpOf: path) }
        return UsageError("\(message); did you mean '\(closest)'?")
    }

    private mutating func take(_ option: OptionDefinition, attachedValue: String?) throws(UsageError) {
        if !option.isRepeatable && values.options[option.key] != nil {
            throw UsageError("option '\(option.key)' given more than once", seeHelpOf: path)
        }
        switch option.kind {
        case .flag:
            values.options[option.key, default: []].append(true)
        case .value(let valueName, let convert):
            guard let text = attachedValue ?? remaining.popFirst() else {
                throw UsageError("missing \(valueName) for option '\(option.key)'", seeHelpOf: path)
            }
            values.options[option.key, default: []].append(try convert(text))
        }
    }
}

/// The candidate a mistyped word most likely meant: the one a word is the start of (`--sub`
/// for `--subnet`), else the nearest by edit distance, when close enough to be a typo rather
/// than another word (at most 2 edits, and fewer than half the word).
func closestWord(to word: String, among candidates: [String]) -> String? {
    guard !word.isEmpty else { return nil }
    let starting = candidates.filter { $0.hasPrefix(word) }
    if starting.count == 1 { return starting[0] }
    let scored = candidates.map { (candidate: $0, distance: editDistance(word, $0)) }
    guard let best = scored.min(by: { $0.distance < $1.distance }),
          best.distance <= 2, best.distance * 2 < max(word.count, best.candidate.count) else { return nil }
    return best.candidate
}

/// Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours is one edit.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
    var previousRow: [Int] = []
    var row = Array(0...b.count)
    for i in 1...a.count {
        let rowBefore = previousRow
        previousRow = row
        row = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            row[j] = min(previousRow[j] + 1, row[j - 1] + 1, previousRow[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                row[j] = min(row[j], rowBefore[j - 2] + 1)
            }
        }
    }
    return row[b.count]
}
