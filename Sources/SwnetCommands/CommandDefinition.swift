/// The declarative half of the command-line parser: commands, options and positional arguments
/// as plain values, and typed handles to read what the parser found.
///
/// A command declares its options and arguments as static `Option<Value>` / `Argument<Value>`
/// handles, lists them in its `CommandDefinition`, and reads them back from `ParsedValues`
/// with the same handles, so a value's type is stated once, where it is declared.

/// A node of the command tree. Either a group (it has subcommands and nothing to run) or a
/// leaf that names the `RunnableCommand` built from the parsed values.
struct CommandDefinition: Sendable {
    let name: String
    let aliases: [String]
    let abstract: String
    let discussion: String?
    /// Replaces the generated usage line, for grammars the option list cannot express.
    let usage: String?
    /// Answered by `--version`; only the root has one.
    let version: String?
    let options: [OptionDefinition]
    let arguments: [ArgumentDefinition]
    let subcommands: [CommandDefinition]
    /// Left out of help, completion and man pages: the machinery the shells and install use.
    let isHidden: Bool
    /// Builds the command from parsed values; it may still reject them as a usage error.
    let makeCommand: (@Sendable (ParsedValues) throws(UsageError) -> any RunnableCommand)?

    /// A leaf command.
    init<Command: RunnableCommand>(
        _ name: String, aliases: [String] = [], abstract: String, discussion: String? = nil, usage: String? = nil,
        hidden: Bool = false, arguments: [any AnyArgument] = [], options: [any AnyOption] = [], runs command: Command.Type
    ) {
        self.name = name
        self.aliases = aliases
        self.abstract = abstract
        self.discussion = discussion
        self.usage = usage
        self.version = nil
        self.options = options.map(\.definition)
        self.arguments = arguments.map(\.definition)
        self.subcommands = []
        self.isHidden = hidden
        self.makeCommand = { values throws(UsageError) in try Command(from: values) }
    }

    /// A group: choosing it alone prints its help.
    init(group name: String, abstract: String, version: String? = nil, subcommands: [CommandDefinition]) {
        self.name = name
        self.aliases = []
        self.abstract = abstract
        self.discussion = nil
        self.usage = nil
        self.version = version
        self.options = []
        self.arguments = []
        self.subcommands = subcommands
        self.isHidden = false
        self.makeCommand = nil
    }

    func subcommand(named name: String) -> CommandDefinition? {
        subcommands.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// The subcommands a person is shown: in help, completion and man pages.
    var visibleSubcommands: [CommandDefinition] { subcommands.filter { !$0.isHidden } }
}

/// What a leaf command does once its arguments are parsed. (`SendableMetatype`: the command
/// tree, a shared constant, holds the type to build it.)
protocol RunnableCommand: SendableMetatype {
    /// Takes the values apart into typed fields; throws usage errors for combinations the
    /// option list cannot check (e.g. attach's pipework grammar), before anything runs.
    init(from values: ParsedValues) throws(UsageError)
    func run() throws
}

// MARK: - Options

/// An option as the parser and the help see it, whatever its value's type.
struct OptionDefinition: Sendable {
    enum Kind: Sendable {
        case flag
        /// Takes a value, converted when parsed so a bad one is a usage error.
        case value(name: String, convert: @Sendable (String) throws(UsageError) -> any Sendable)
    }

    let long: String?
    let short: Character?
    let kind: Kind
    let help: String
    let isRequired: Bool
    let isRepeatable: Bool
    /// What the shell offers for the value.
    let completion: Completion

    /// How errors and `ParsedValues` refer to the option.
    var key: String {
        if let long { return "--\(long)" }
        return "-\(short.map(String.init) ?? "")"
    }
}

/// Lets a command list options of different value types together.
protocol AnyOption: Sendable {
    var definition: OptionDefinition { get }
}

/// A typed handle on an option: declares it, and reads its value from `ParsedValues`.
struct Option<Value>: AnyOption {
    let definition: OptionDefinition
    fileprivate let read: @Sendable ([any Sendable]) -> Value

    /// The same option (same key, same value) explained otherwise, for a command where the
    /// shared help would mislead.
    func withHelp(_ help: String) -> Option {
        let d = definition
        return Option(definition: OptionDefinition(long: d.long, short: d.short, kind: d.kind, help: help, isRequired: d.isRequired,
                                                   isRepeatable: d.isRepeatable, completion: d.completion), read: read)
    }
}

extension Option where Value == Bool {
    /// `--long` / `-s`: true when given.
    init(flag long: String?, short: Character? = nil, help: String) {
        definition = OptionDefinition(long: long, short: short, kind: .flag, help: help,
                                      isRequired: false, isRepeatable: false, completion: .none)
        read = { !$0.isEmpty }
    }
}

extension Option {
    /// An option that may be left out, given at most once.
    init<Wrapped: Sendable>(
        _ long: String? = nil, short: Character? = nil, value valueName: String, help: String, completes: Completion = .none,
        transform: @escaping @Sendable (String) throws(UsageError) -> Wrapped
    ) where Value == Wrapped? {
        definition = OptionDefinition(long: long, short: short, kind: .value(name: valueName, convert: transform),
                                      help: help, isRequired: false, isRepeatable: false, completion: completes)
        read = { $0.first as? Wrapped }
    }

    /// A string option that may be left out.
    init(_ long: String? = nil, short: Character? = nil, value valueName: String, help: String,
         completes: Completion = .none) where Value == String? {
        self.init(long, short: short, value: valueName, help: help, completes: completes) { $0 }
    }

    /// An option the command cannot do without; the parser rejects a command line that lacks it.
    init(required long: String, short: Character? = nil, value valueName: String, help: String, completes: Completion = .none,
         transform: @escaping @Sendable (String) throws(UsageError) -> Value) where Value: Sendable {
        definition = OptionDefinition(long: long, short: short, kind: .value(name: valueName, convert: transform),
                                      help: help, isRequired: true, isRepeatable: false, completion: completes)
        read = { values in
            guard let value = values.first as? Value else { preconditionFailure("the parser checks required options") }
            return value
        }
    }

    /// An option that may be given any number of times; its values in the order given.
    init<Element: Sendable>(
        repeatable long: String?, short: Character? = nil, value valueName: String, help: String,
        completes: Completion = .none, transform: @escaping @Sendable (String) throws(UsageError) -> Element
    ) where Value == [Element] {
        definition = OptionDefinition(long: long, short: short, kind: .value(name: valueName, convert: transform),
                                      help: help, isRequired: false, isRepeatable: true, completion: completes)
        read = { $0.compactMap { $0 as? Element } }
    }
}

// MARK: - Positional arguments

/// A positional argument as the parser and the help see it. A command lists its required
/// arguments first, then optional ones, then at most one variadic one.
struct ArgumentDefinition: Sendable {
    enum Arity: Sendable {
        case required
        case optional
        case variadic(minimum: Int)
    }

    let name: String
    let help: String
    let arity: Arity
    let completion: Completion
}

/// Lets a command list arguments of different arities together.
protocol AnyArgument: Sendable {
    var definition: ArgumentDefinition { get }
}

/// A typed handle on a positional argument; its arity decides the type it reads as.
struct Argument<Value>: AnyArgument {
    let definition: ArgumentDefinition
    fileprivate let read: @Sendable ([String]) -> Value
}

extension Argument where Value == String {
    init(_ name: String, help: String, completes: Completion = .none) {
        definition = ArgumentDefinition(name: name, help: help, arity: .required, completion: completes)
        read = { $0.first ?? "" }  // never empty: the parser checks required arguments
    }
}

extension Argument where Value == String? {
    init(optional name: String, help: String, completes: Completion = .none) {
        definition = ArgumentDefinition(name: name, help: help, arity: .optional, completion: completes)
        read = { $0.first }
    }
}

extension Argument where Value == [String] {
    init(variadic name: String, minimum: Int = 0, help: String, completes: Completion = .none) {
        definition = ArgumentDefinition(name: name, help: help, arity: .variadic(minimum: minimum), completion: completes)
        read = { $0 }
    }
}

// MARK: - Completion

/// What the shell offers for an argument or an option's value.
enum Completion: Sendable {
    case none
    /// The shell's own file name completion.
    case files
    case directories
    /// A fixed set, e.g. `--mode vxlan|host-gw`.
    case choices([String])
    /// Names that exist only at run time (networks, containers, ...), looked up with what the
    /// command line holds so far (its `--root`, `--etcd`).
    case live(@Sendable (ParsedValues) -> [CompletionCandidate])
}

/// One word the shell may offer, and what it is (zsh and fish show it beside the word).
struct CompletionCandidate: Sendable, Equatable {
    let word: String
    let description: String

    init(_ word: String, _ description: String = "") {
        self.word = word
        self.description = description
    }
}

// MARK: - Results

/// What the parser found for one command, already converted to each option's type.
struct ParsedValues: Sendable {
    var options: [String: [any Sendable]] = [:]
    var arguments: [String: [String]] = [:]

    subscript<Value>(option: Option<Value>) -> Value {
        option.read(options[option.definition.key] ?? [])
    }

    subscript<Value>(argument: Argument<Value>) -> Value {
        argument.read(arguments[argument.definition.name] ?? [])
    }
}

/// A command and the groups above it, e.g. `swnet network create`.
struct CommandPath: Sendable {
    let commands: [CommandDefinition]

    var command: CommandDefinition { commands[commands.count - 1] }
    var name: String { commands.map(\.name).joined(separator: " ") }

    func appending(_ command: CommandDefinition) -> CommandPath { CommandPath(commands: commands + [command]) }
}

/// What a command line asks for, decided without running anything.
enum Invocation {
    case help(CommandPath)
    case version(String)
    case run(any RunnableCommand)
}

/// A command line that does not fit the command: one line, exit status 64 (EX_USAGE).
struct UsageError: Error, CustomStringConvertible {
    let message: String
    /// The command whose help explains the mistake, for errors about the command line's shape.
    let seeHelpOf: CommandPath?

    init(_ message: String, seeHelpOf command: CommandPath? = nil) {
        self.message = message
        self.seeHelpOf = command
    }

    var description: String {
        guard let command = seeHelpOf else { return message }
        return "\(message) (see '\(command.name) --help')"
    }
}
