#if canImport(Glibc)
import Glibc
#endif
import SwnetContainers
import SwnetCore

/// What the shell should offer for the word under the cursor.
enum CompletionReply: Equatable {
    case candidates([CompletionCandidate])
    /// Left to the shell's own file name completion.
    case files
    case directories
}

/// Completion walks a command line the way the parser does, but forgives: the line is
/// unfinished, so unknown words are skipped rather than rejected, and nothing runs.
extension CommandDefinition {
    /// `words`: the command line after the program's name; the last one is the word under the
    /// cursor (empty right after a space).
    func complete(_ words: [String]) -> CompletionReply {
        var path = CommandPath(commands: [self])
        var given: [String: [String]] = [:]
        var positionals = 0
        var optionsEnded = false
        var pendingOption: OptionDefinition?
        let current = words.last ?? ""
        for token in words.dropLast() {
            let command = path.command
            if let option = pendingOption {
                given[option.key, default: []].append(token)
                pendingOption = nil
            } else if optionsEnded || token == "-" || !token.hasPrefix("-") {
                if !optionsEnded, let subcommand = command.subcommand(named: token) {
                    path = path.appending(subcommand)
                    positionals = 0
                } else if command.subcommands.isEmpty {
                    positionals += 1
                }
            } else if token == "--" {
                optionsEnded = true
            } else if token.hasPrefix("--") {
                let parts = token.dropFirst(2).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let option = command.options.first(where: { $0.long == String(parts[0]) }) else { continue }
                switch option.kind {
                case .flag: given[option.key, default: []].append("")
                case .value where parts.count == 2: given[option.key, default: []].append(String(parts[1]))
                case .value: pendingOption = option
                }
            } else {
                var letters = token.dropFirst()
                while let letter = letters.popFirst(), let option = command.options.first(where: { $0.short == letter }) {
                    guard case .value = option.kind else {
                        given[option.key, default: []].append("")
                        continue
                    }
                    if letters.isEmpty { pendingOption = option } else { given[option.key, default: []].append(String(letters)) }
                    break
                }
            }
        }
        let command = path.command
        let values = command.parsedValues(given)
        if let option = pendingOption { return option.completion.reply(for: current, values: values) }
        if !optionsEnded && current.hasPrefix("-") {
            if current.hasPrefix("--"), let equals = current.firstIndex(of: "=") {
                let name = String(current[current.index(current.startIndex, offsetBy: 2)..<equals])
                guard let option = command.options.first(where: { $0.long == name }) else { return .candidates([]) }
                let prefix = String(current[...equals])
                return option.completion.reply(for: String(current[current.index(after: equals)...]), values: values, prefix: prefix)
            }
            return .candidates(command.optionCandidates(given: given).filter { $0.word.hasPrefix(current) })
        }
        if !command.subcommands.isEmpty {
            let candidates = command.visibleSubcommands.map { CompletionCandidate($0.name, $0.abstract) }
            return .candidates(candidates.filter { $0.word.hasPrefix(current) })
        }
        guard let argument = command.argument(at: positionals) else { return .candidates([]) }
        return argument.completion.reply(for: current, values: values)
    }

    /// The options still worth offering: repeatable ones, and the others not given yet.
    private func optionCandidates(given: [String: [String]]) -> [CompletionCandidate] {
        var candidates: [CompletionCandidate] = []
        for option in options where option.isRepeatable || given[option.key] == nil {
            if let long = option.long { candidates.append(CompletionCandidate("--\(long)", option.help)) }
            if let short = option.short, option.long == nil { candidates.append(CompletionCandidate("-\(short)", option.help)) }
        }
        candidates.append(CompletionCandidate("--help", "Show this help."))
        return candidates
    }

    /// The declared argument the positional at `index` fills; a variadic one takes the rest.
    private func argument(at index: Int) -> ArgumentDefinition? {
        var index = index
        for argument in arguments {
            if case .variadic = argument.arity { return argument }
            if index == 0 { return argument }
            index -= 1
        }
        return nil
    }

    /// The options given so far, converted as the parser would; values that do not convert are
    /// left out (the line is still being typed).
    private func parsedValues(_ given: [String: [String]]) -> ParsedValues {
        var values = ParsedValues()
        for option in options {
            for text in given[option.key] ?? [] {
                switch option.kind {
                case .flag: values.options[option.key, default: []].append(true)
                case .value(_, let convert):
                    if let value = try? convert(text) { values.options[option.key, default: []].append(value) }
                }
            }
        }
        return values
    }
}

extension Completion {
    func reply(for current: String, values: ParsedValues, prefix: String = "") -> CompletionReply {
        let candidates: [CompletionCandidate]
        switch self {
        case .none: return .candidates([])
        case .files: return .files
        case .directories: return .directories
        case .choices(let choices): candidates = choices.map { CompletionCandidate($0) }
        case .live(let lookUp): candidates = lookUp(values)
        }
        return .candidates(candidates.filter { $0.word.hasPrefix(current) }.map {
            CompletionCandidate(prefix + $0.word, $0.description)
        })
    }

    /// swnet's networks, under the line's `--root`.
    static let networks = Completion.live { values in
        let networks = (try? GlobalOptions(values).makeSwnet().listNetworks()) ?? []
        return networks.map { CompletionCandidate($0.definition.name, "network \($0.definition.subnet)") }
    }

    /// swnet's containers: names, which every container command takes.
    static let containers = Completion.live(containerNames)

    /// What attach and publish take: containers, and the namespaces `ip netns` names.
    static let targets = Completion.live { values in
        containerNames(values) + directoryEntries("/run/netns").map { CompletionCandidate($0, "network namespace") }
    }

    /// The overlays in etcd, reached with the line's `--etcd` (or $SWNET_ETCD); a shorter wait
    /// than the commands', since a person is waiting at the Tab key.
    static let overlays = Completion.live { values in
        guard var etcd = try? EtcdOptions.configuration(values) else { return [] }
        etcd.timeoutMilliseconds = 500
        guard let overlays = try? GlobalOptions(values).makeSwnet().listOverlays(etcd: etcd) else { return [] }
        return overlays.map { CompletionCandidate($0.configuration.name, "overlay \($0.configuration.subnet)") }
    }
}

@Sendable private func containerNames(_ values: ParsedValues) -> [CompletionCandidate] {
    let containers = (try? GlobalOptions(values).makeSwnet().listContainers(all: true)) ?? []
    return containers.map { CompletionCandidate($0.name, "container \($0.shortID), \(statusText($0))") }
}

/// The names in a directory, without `.` and `..`; none when it cannot be read.
private func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// `swnet completion bash|zsh|fish`: a script for the shell that asks `swnet __complete` what
/// to offer, so completion follows the command tree and the names that exist right now.
struct CompletionCommand: RunnableCommand {
    static let shell = Argument<String>("SHELL", help: "bash, zsh or fish.", completes: .choices(["bash", "zsh", "fish"]))

    static let definition = CommandDefinition(
        "completion", abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
        bash: source <(swnet completion bash), or save it as \
        /usr/share/bash-completion/completions/swnet. zsh: save it as _swnet in a directory of \
        $fpath. fish: save it as ~/.config/fish/completions/swnet.fish. scripts/install.sh \
        installs all three.
        """,
        arguments: [shell], runs: Self.self)

    let script: String

    init(from values: ParsedValues) throws(UsageError) {
        switch values[Self.shell] {
        case "bash": script = bashCompletion
        case "zsh": script = zshCompletion
        case "fish": script = fishCompletion
        case let other: throw UsageError("unknown shell '\(other)': expected bash, zsh or fish")
        }
    }

    func run() {
        print(script, terminator: "")
    }
}

/// `swnet __complete -- WORD...`: one candidate a line, `WORD<TAB>DESCRIPTION`, or `:files` /
/// `:directories` for the shell's own file name completion. The shells' scripts call it.
struct CompleteCommand: RunnableCommand {
    static let words = Argument<[String]>(variadic: "WORD", help: "The command line after 'swnet', the last word being completed.")

    static let definition = CommandDefinition(
        "__complete", abstract: "What the shell should offer for a partial command line.", hidden: true,
        arguments: [words], runs: Self.self)

    let words: [String]

    init(from values: ParsedValues) {
        words = values[Self.words]
    }

    func run() {
        switch SwnetCommand.definition.complete(words.isEmpty ? [""] : words) {
        case .files: print(":files")
        case .directories: print(":directories")
        case .candidates(let candidates):
            for candidate in candidates { print("\(candidate.word)\t\(candidate.description)") }
        }
    }
}

// The scripts keep the shells' side small: split the line into words, ask swnet, show the answer.

private let bashCompletion = #"""
# bash completion for swnet (generated by `swnet completion bash`).
_swnet() {
    # The words up to the cursor, split at blanks only: bash's own COMP_WORDS also splits at
    # '=' and ':' (--root=DIR, podman:NAME), which swnet wants whole.
    local line=${COMP_LINE:0:COMP_POINT} words
    read -ra words <<<"$line"
    [[ $line == *[[:blank:]] ]] && words+=("")
    local cur=${words[${#words[@]}-1]} answer IFS=$'\n'
    COMPREPLY=()
    for answer in $(swnet __complete -- "${words[@]:1}" 2>/dev/null); do
        case $answer in
            :files) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "${cur#*=}")) ;;
            :directories) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "${cur#*=}")) ;;
            *) COMPREPLY+=("${answer%%$'\t'*}") ;;
        esac
    done
    # bash replaces only what follows the last '=' or ':' it splits at.
    local before=${cur%"${cur##*[=:]}"}
    [[ -z $before ]] || COMPREPLY=("${COMPREPLY[@]#"$before"}")
}
complete -F _swnet swnet
"""#

private let zshCompletion = #"""
#compdef swnet
# zsh completion for swnet (generated by `swnet completion zsh`).
_swnet() {
    local -a described
    local answer word
    for answer in "${(@f)$(swnet __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
        case $answer in
            :files) _files; return ;;
            :directories) _files -/; return ;;
            ?*) word=${answer%%$'\t'*}; described+=("${word//:/\\:}:${answer#*$'\t'}") ;;
        esac
    done
    (( $#described )) && _describe -t swnet swnet described
}
if [[ $funcstack[1] == _swnet ]]; then
    _swnet "$@"
else
    compdef _swnet swnet
fi
"""#

private let fishCompletion = #"""
# fish completion for swnet (generated by `swnet completion fish`).
function __swnet_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    for answer in (swnet __complete -- $words[2..-1] "$current" 2>/dev/null)
        switch $answer
            case :files
                __fish_complete_path "$current"
            case :directories
                __fish_complete_directories "$current"
            case '*'
                echo $answer
        end
    end
end
complete -c swnet -f -a '(__swnet_complete)'
"""#
