import JSON

/// `-q`, `--format` and `--json` of the list commands (`network ls`, `overlay ls`, `ps`), after
/// docker's: `--format table|json|TEMPLATE`, where TEMPLATE is a small subset of Go's templates
/// (`{{.Field}}`, `{{.a.b}}`, `{{json .}}`, `{{join .List ","}}`, `{{upper .F}}`, `{{lower .F}}`),
/// `\t` and `\n` stand for a tab and a newline, and a `table ` prefix aligns the columns under headers.
struct ListOptions {
    static let quiet = Option<Bool>(flag: "quiet", short: "q", help: "Only print names, one a line.")
    static let format = Option<OutputFormat?>(
        "format", value: "FORMAT", help: formatHelp(example: "{{.Name}}"),
        completes: .choices(["table", "json"]), transform: OutputFormat.init(parsing:))

    /// The options, with help that says what this list's `-q` prints and shows a template over
    /// its own columns (a `ps` user reads ids and `{{.Names}}`, not a network's subnet).
    static func declarations(quietPrints: String, example: String) -> [any AnyOption] {
        [quiet.withHelp("Only print \(quietPrints), one a line."), format.withHelp(formatHelp(example: example)), OutputOptions.json]
    }

    private static func formatHelp(example: String) -> String {
        "table, json (an object a line), or a template like '\(example)' ('table TEMPLATE' adds headers)."
    }

    let format: OutputFormat

    init(_ values: ParsedValues) throws(UsageError) {
        let quiet = values[Self.quiet], json = values[OutputOptions.json], format = values[Self.format]
        let given = [quiet ? "-q" : nil, json ? "--json" : nil, format != nil ? "--format" : nil].compactMap { $0 }
        guard given.count <= 1 else { throw UsageError("give only one of \(given.joined(separator: ", "))") }
        self.format = quiet ? .quiet : json ? .jsonArray : format ?? .table(nil)
    }

    func print(_ listing: Listing) throws(UsageError) {
        for line in try format.render(listing) { Swift.print(line) }
    }
}

/// `--json` and docker's `--format`/`-f` of the inspect commands: `json` (one line an object) or a
/// template over each object's JSON, e.g. `{{.subnet}}` or `{{json .attachments}}`.
struct InspectOptions {
    static let format = Option<OutputFormat?>(
        "format", short: "f", value: "FORMAT", help: formatHelp(example: "{{.name}}"),
        completes: .choices(["json"]), transform: OutputFormat.init(parsing:))

    /// The options, with a template example over this command's own JSON.
    static func declarations(example: String) -> [any AnyOption] {
        [OutputOptions.json, format.withHelp(formatHelp(example: example))]
    }

    private static func formatHelp(example: String) -> String {
        "json (an object a line), or a template over the JSON like '\(example)'."
    }

    let json: Bool
    let format: OutputFormat?

    init(_ values: ParsedValues) throws(UsageError) {
        json = values[OutputOptions.json]
        format = values[Self.format]
        if json && format != nil { throw UsageError("give only one of --json, --format") }
        if case .table = format { throw UsageError("--format table is for lists; inspect takes json or a template") }
    }

    /// Prints `objects` by `--format` and returns true; false without one (the command prints).
    func printFormatted(_ objects: [JSON]) throws(UsageError) -> Bool {
        guard let format else { return false }
        var listing = Listing([])
        for object in objects { listing.append([], json: object, quiet: "") }
        for line in try format.render(listing) { print(line) }
        return true
    }
}

/// What a list command shows: its columns (the table's, and the fields templates name first),
/// each row's JSON (`--json`, `{{json .}}`, and the fields the table lacks), and what `-q` prints.
struct Listing {
    struct Column {
        /// The template field, e.g. `Subnet` (matched without regard to case).
        let field: String
        let header: String
    }

    struct Row {
        let cells: [String]
        let json: JSON
        let quiet: String
    }

    let columns: [Column]
    var rows: [Row] = []

    init(_ columns: [(field: String, header: String)]) {
        self.columns = columns.map { Column(field: $0.field, header: $0.header) }
    }

    mutating func append(_ cells: [String], json: JSON, quiet: String) {
        rows.append(Row(cells: cells, json: json, quiet: quiet))
    }
}

enum OutputFormat {
    /// Aligned columns under headers: the listing's own, or a template's.
    case table(Template?)
    case template(Template)
    /// docker's `--format json`: one compact object a line.
    case jsonLines
    /// swnet's `--json`: one array, indented.
    case jsonArray
    case quiet

    init(parsing text: String) throws(UsageError) {
        switch text {
        case "json": self = .jsonLines
        case "table": self = .table(nil)
        case _ where text.hasPrefix("table "): self = .table(try Template(parsing: String(text.dropFirst(6))))
        default: self = .template(try Template(parsing: text))
        }
    }

    func render(_ listing: Listing) throws(UsageError) -> [String] {
        switch self {
        case .quiet:
            return listing.rows.map(\.quiet)
        case .jsonArray:
            return [JSON.array(listing.rows.map(\.json)).serialized(pretty: true)]
        case .jsonLines:
            return listing.rows.map { $0.json.serialized() }
        case .template(let template):
            var lines: [String] = []
            for row in listing.rows { lines.append(try template.render(row, of: listing)) }
            return lines
        case .table(nil):
            return alignedColumns([listing.columns.map(\.header)] + listing.rows.map(\.cells))
        case .table(let template?):
            var lines = [template.header(of: listing)]
            for row in listing.rows { lines.append(try template.render(row, of: listing)) }
            return alignedColumns(lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) })
        }
    }
}

/// Cells padded to their column's width plus three spaces (docker's and `printTable`'s layout).
func alignedColumns(_ rows: [[String]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 3)
        }.joined()
    }
}

/// A parsed Go-style template: text, and actions between `{{` and `}}`.
struct Template: Sendable {
    enum Piece: Sendable {
        case text(String)
        /// A function (or none) applied to a field path (`[]` is `.`), with a string argument for join.
        case action(function: String?, path: [String], argument: String?)
    }

    static let functions = ["json", "join", "upper", "lower"]

    let pieces: [Piece]

    init(parsing source: String) throws(UsageError) {
        let text = source.replacingEscapes()
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let open = rest.rangeOf("{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].rangeOf("}}") else {
                throw UsageError("invalid --format template '\(source)': unclosed action")
            }
            pieces.append(try Self.action(String(rest[open.upperBound..<close.lowerBound]), in: source))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    /// `.Field.Sub`, `json .`, `join .List ", "`, `upper .Name`.
    private static func action(_ body: String, in source: String) throws(UsageError) -> Piece {
        let words = try Self.words(body, in: source)
        func path(_ word: String) throws(UsageError) -> [String] {
            guard word.hasPrefix(".") else { throw UsageError("invalid --format template '\(source)': expected a field like .Name, not '\(word)'") }
            if word == "." { return [] }
            let parts = word.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !parts.contains(where: \.isEmpty) else { throw UsageError("invalid --format template '\(source)': bad field '\(word)'") }
            return parts
        }
        switch words.count {
        case 1:
            return .action(function: nil, path: try path(words[0]), argument: nil)
        case 2 where functions.contains(words[0]) && words[0] != "join":
            return .action(function: words[0], path: try path(words[1]), argument: nil)
        case 3 where words[0] == "join" && words[2].hasPrefix("\""):
            return .action(function: "join", path: try path(words[1]), argument: String(words[2].dropFirst().dropLast()))
        default:
            let name = words.first ?? ""
            if !name.hasPrefix("."), !functions.contains(name) {
                throw UsageError("invalid --format template '\(source)': unknown function '\(name)' (there are json, join, upper, lower)")
            }
            throw UsageError("invalid --format template '\(source)': cannot read '{{\(body)}}'")
        }
    }

    /// Splits an action at blanks, keeping a double-quoted string (quotes included) whole.
    private static func words(_ body: String, in source: String) throws(UsageError) -> [String] {
        var words: [String] = []
        var word = ""
        var quoted = false
        for character in body {
            if character == "\"" { quoted.toggle() }
            if character == " " && !quoted {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else {
                word.append(character)
            }
        }
        guard !quoted else { throw UsageError("invalid --format template '\(source)': unclosed string") }
        if !word.isEmpty { words.append(word) }
        return words
    }

    func render(_ row: Listing.Row, of listing: Listing) throws(UsageError) -> String {
        var line = ""
        for piece in pieces {
            switch piece {
            case .text(let text): line += text
            case .action(let function, let path, let argument):
                let value = try Self.value(at: path, in: row, of: listing)
                switch function {
                case "json": line += value.json.serialized()
                case "join": line += value.items.joined(separator: argument ?? "")
                case "upper": line += value.text.uppercased()
                case "lower": line += value.text.lowercased()
                default: line += value.text
                }
            }
        }
        return line
    }

    /// The table's headers for this template: each field's column header (or its name in capitals).
    func header(of listing: Listing) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let text): return text
            case .action(_, let path, _):
                guard let last = path.last else { return "" }
                if path.count == 1, let column = listing.column(named: last) { return column.header }
                return last.uppercased()
            }
        }.joined()
    }

    /// A field's value: a column's text (what the table shows: `.Status` is "Up 3 minutes"), or
    /// the row's JSON (`.status` is "running"); names as spelled first, then without regard to case.
    private static func value(at path: [String], in row: Listing.Row, of listing: Listing) throws(UsageError) -> FieldValue {
        if path.count == 1, row.json[path[0]] == nil, let index = listing.columns.firstIndex(where: { $0.field == path[0] })
            ?? listing.columns.firstIndex(where: { $0.field.lowercased() == path[0].lowercased() }) {
            return .text(row.cells[index])
        }
        var json = row.json
        for name in path {
            guard case .object(let object) = json,
                  let key = object.keys.first(where: { $0 == name }) ?? object.keys.first(where: { $0.lowercased() == name.lowercased() }),
                  let next = object[key] else {
                let fields = listing.columns.map(\.field) + (row.json.object?.keys.sorted() ?? [])
                throw UsageError("--format: no field '.\(path.joined(separator: "."))' (fields: \(fields.joined(separator: ", ")))")
            }
            json = next
        }
        return .json(json)
    }

    private enum FieldValue {
        case text(String)
        case json(JSON)

        var json: JSON {
            switch self {
            case .text(let text): .string(text)
            case .json(let json): json
            }
        }

        /// As Go prints it: strings bare, lists as `[a b]`, null as nothing.
        var text: String {
            switch self {
            case .text(let text): return text
            case .json(let json):
                switch json {
                case .string(let string): return string
                case .null: return ""
                case .array: return "[" + items.joined(separator: " ") + "]"
                default: return json.serialized()
                }
            }
        }

        /// What `join` joins: a list's items, or the value alone.
        var items: [String] {
            guard case .json(.array(let elements)) = self else { return [text] }
            return elements.map { FieldValue.json($0).text }
        }
    }
}

extension Listing {
    fileprivate func column(named field: String) -> Column? {
        columns.first { $0.field.lowercased() == field.lowercased() }
    }
}

extension Substring {
    /// Where `pattern` first occurs (the standard library's own needs _StringProcessing).
    fileprivate func rangeOf(_ pattern: String) -> Range<Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(pattern) { return start..<index(start, offsetBy: pattern.count) }
            start = index(after: start)
        }
        return nil
    }
}

extension String {
    /// `\t` and `\n` as typed in a shell's single quotes become a tab and a newline, as in docker.
    fileprivate func replacingEscapes() -> String {
        var result = ""
        var escaping = false
        for character in self {
            if escaping {
                switch character {
                case "t": result.append("\t")
                case "n": result.append("\n")
                default: result += "\\" + String(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        if escaping { result.append("\\") }
        return result
    }
}

/// `--filter KEY=VALUE` (repeatable) of `ps` and `network ls`, as docker's: values of one key
/// are alternatives, different keys must all match.
struct Filters: Sendable {
    let values: [String: [String]]

    struct Condition: Sendable {
        let key: String
        let value: String
    }

    /// The option for a command whose filters are `keys`; `check` rejects a value a key cannot
    /// have, and the keys of `values` can only have those (offered by completion).
    static func option(keys: [String], values: [String: [String]] = [:],
                       check: @escaping @Sendable (String, String) throws(UsageError) -> Void = { _, _ throws(UsageError) in })
        -> Option<[Condition]> {
        let choices = keys.flatMap { key in [key + "="] + (values[key] ?? []).map { "\(key)=\($0)" } }
        return Option(repeatable: "filter", value: "KEY=VALUE",
                      help: "Only those matching, by \(keys.joined(separator: ", ")) (repeatable).",
                      completes: .choices(choices)) { text throws(UsageError) in
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { throw UsageError("invalid filter '\(text)': expected KEY=VALUE") }
            guard keys.contains(parts[0]) else {
                let suggestion = closestWord(to: parts[0], among: keys).map { "did you mean '\($0)'? " } ?? ""
                throw UsageError("invalid filter '\(text)': \(suggestion)filters are \(keys.joined(separator: ", "))")
            }
            try check(parts[0], parts[1])
            return Condition(key: parts[0], value: parts[1])
        }
    }

    init(_ given: [Condition]) {
        var values: [String: [String]] = [:]
        for condition in given { values[condition.key, default: []].append(condition.value) }
        self.values = values
    }

    /// True when `key` is not filtered on, or one of its values passes `test`.
    func allows(_ key: String, _ test: (String) -> Bool) -> Bool {
        guard let accepted = values[key] else { return true }
        return accepted.contains(where: test)
    }
}
