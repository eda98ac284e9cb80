import JSON
import Testing

@Suite struct ParsingTests {
    static let validDocuments: [(text: String, expected: JSON)] = [
        ("null", .null),
        (" \t\r\n true \n", true),
        ("false", false),
        ("0", 0),
        ("-0", 0),
        ("123", 123),
        ("-123", -123),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .double(9223372036854775808)),
        ("-9223372036854775809", .double(-9223372036854775808.0)),
        ("1.5", 1.5),
        ("-0.0", .double(-0.0)),
        ("1.0", 1.0),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("25e-1", 2.5),
        ("1e-400", 0.0),
        ("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        (#""""#, ""),
        (#""a\"b\\c\/d\b\f\n\r\t""#, "a\"b\\c/d\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u2713""#, "Aé✓"),
        (#""\uD83C\uDF89""#, "🎉"),
        (#""\ud83c\udf89""#, "🎉"),
        (#""🎉 raw""#, "🎉 raw"),
        ("[]", []),
        ("[ ]", []),
        ("{}", [:]),
        (#"[1, [2, [3]], {"a": null}]"#, [1, [2, [3]], ["a": nil]]),
        (#"{"b": {"c": [true]}, "a": -1.25}"#, ["a": -1.25, "b": ["c": [true]]]),
    ]

    @Test(arguments: validDocuments)
    func parsesValidDocuments(text: String, expected: JSON) throws {
        #expect(try JSON(parsing: text) == expected)
        #expect(try JSON(parsing: Array(text.utf8)) == expected)
    }

    static let invalidDocuments: [(text: String, offset: Int, reason: String)] = [
        ("", 0, "unexpected end of input"),
        ("   ", 3, "unexpected end of input"),
        ("nul", 0, "unexpected character"),
        ("True", 0, "unexpected character"),
        ("null x", 5, "unexpected data after the value"),
        ("{} {}", 3, "unexpected data after the value"),
        ("[1,]", 3, "unexpected character"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("[1", 2, "expected ',' or ']'"),
        (#"{"a":1,}"#, 7, "expected a string key"),
        (#"{"a" 1}"#, 5, "expected ':'"),
        (#"{"a":1"#, 6, "expected ',' or '}'"),
        ("{a:1}", 1, "expected a string key"),
        (#"{"a":1,"a":2}"#, 7, "duplicate key \"a\""),
        ("01", 1, "leading zeros are not allowed"),
        ("-01", 2, "leading zeros are not allowed"),
        ("+1", 0, "unexpected character"),
        ("-", 1, "expected a digit"),
        ("1.", 2, "expected a digit"),
        (".5", 0, "unexpected character"),
        ("1e", 2, "expected a digit"),
        ("1e+", 3, "expected a digit"),
        ("0x10", 1, "unexpected data after the value"),
        ("1e400", 0, "number out of range"),
        ("-1e400", 0, "number out of range"),
        ("NaN", 0, "unexpected character"),
        ("Infinity", 0, "unexpected character"),
        (#""abc"#, 4, "unterminated string"),
        ("\"a\u{0A}b\"", 2, "unescaped control character in string"),
        ("\"a\u{09}b\"", 2, "unescaped control character in string"),
        (#""\x""#, 2, "invalid escape sequence"),
        (#""\u12""#, 5, #"expected four hex digits after \u"#),
        (#""\uD83C""#, 1, "unpaired surrogate"),
        (#""\uD83Cx""#, 1, "unpaired surrogate"),
        (#""\uD83C\u0041""#, 1, "unpaired surrogate"),
        (#""\uDF89""#, 1, "unpaired surrogate"),
        ("'a'", 0, "unexpected character"),
        ("[1] // comment", 4, "unexpected data after the value"),
        ("\u{FEFF}1", 0, "unexpected character"),
    ]

    @Test(arguments: invalidDocuments)
    func rejectsInvalidDocuments(text: String, offset: Int, reason: String) {
        #expect(throws: JSONError(offset: offset, reason: reason)) { try JSON(parsing: text) }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        let bytes: [UInt8] = [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]
        #expect(throws: JSONError(offset: 0, reason: "string is not valid UTF-8")) { try JSON(parsing: bytes) }
    }

    @Test func describesErrors() {
        #expect(JSONError(offset: 3, reason: "expected ':'").description == "invalid JSON at byte 3: expected ':'")
    }

    @Test func limitsNestingDepth() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }
        var value = try JSON(parsing: nested(512))
        for _ in 0..<511 { value = try #require(value[0]) }
        #expect(value == [])
        #expect(throws: JSONError(offset: 512, reason: "nesting deeper than 512 levels")) {
            try JSON(parsing: nested(513))
        }
        #expect(throws: JSONError.self) { try JSON(parsing: String(repeating: #"{"a":"#, count: 100_000)) }
    }

    @Test(arguments: [
        JSON.null, 0, .int(.min), .int(.max), 3.25, 1.0, -0.0, 1e-7, 123456789.125, .double(.greatestFiniteMagnitude),
        .double(.leastNonzeroMagnitude), 0.1, "esc\"aped\\\n\u{01}🎉",
        ["nested": [1, 2.5, "x", nil, true, ["deep": [[]]]], "empty": [:], "": "empty key"],
    ])
    func roundTrips(value: JSON) throws {
        #expect(try JSON(parsing: value.serialized()) == value)
        #expect(try JSON(parsing: value.serialized(pretty: true)) == value)
    }
}
