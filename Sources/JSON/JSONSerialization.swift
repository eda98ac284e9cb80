extension JSON {
    /// Object keys are sorted so that output is stable (diffable state files, testable CLI output).
    /// `pretty` indents by two spaces and puts each element on its own line.
    public func serialized(pretty: Bool = false) -> String {
        var output: [UInt8] = []
        write(to: &output, pretty: pretty, indentation: 0)
        return String(decoding: output, as: UTF8.self)
    }

    private func write(to output: inout [UInt8], pretty: Bool, indentation: Int) {
        switch self {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let value):
            output.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value):
            output.append(contentsOf: String(value).utf8)
        case .double(let value):
            output.append(contentsOf: Self.text(of: value).utf8)
        case .string(let value):
            Self.writeString(value, to: &output)
        case .array(let elements):
            Self.writeContainer(elements, open: "[", close: "]", to: &output, pretty: pretty, indentation: indentation) {
                output, element, indentation in
                element.write(to: &output, pretty: pretty, indentation: indentation)
            }
        case .object(let members):
            let sorted = members.sorted { $0.key < $1.key }
            Self.writeContainer(sorted, open: "{", close: "}", to: &output, pretty: pretty, indentation: indentation) {
                output, member, indentation in
                Self.writeString(member.key, to: &output)
                output.append(contentsOf: (pretty ? ": " : ":").utf8)
                member.value.write(to: &output, pretty: pretty, indentation: indentation)
            }
        }
    }

    private static func writeContainer<Element>(
        _ elements: [Element], open: Unicode.Scalar, close: Unicode.Scalar,
        to output: inout [UInt8], pretty: Bool, indentation: Int,
        writeElement: (inout [UInt8], Element, Int) -> Void
    ) {
        output.append(UInt8(ascii: open))
        guard !elements.isEmpty else {
            output.append(UInt8(ascii: close))
            return
        }
        for (index, element) in elements.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            if pretty { newline(indentation: indentation + 2, to: &output) }
            writeElement(&output, element, indentation + 2)
        }
        if pretty { newline(indentation: indentation, to: &output) }
        output.append(UInt8(ascii: close))
    }

    private static func newline(indentation: Int, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indentation))
    }

    /// JSON has no NaN or infinity, so those become null. Swift's `description` is already the
    /// shortest text that reads back to the same value; integral values gain a ".0" so that
    /// they parse back as doubles rather than integers.
    private static func text(of value: Double) -> String {
        guard value.isFinite else { return "null" }
        let text = value.description
        return text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") } ? text : text + ".0"
    }

    /// Works on UTF-8 bytes: everything that needs escaping is ASCII, and multi-byte sequences
    /// never contain ASCII bytes, so the rest can be copied through unchanged.
    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): output.append(contentsOf: #"\t"#.utf8)
            case 0x08: output.append(contentsOf: #"\b"#.utf8)
            case 0x0C: output.append(contentsOf: #"\f"#.utf8)
            case ..<0x20:
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
