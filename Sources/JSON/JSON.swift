/// A JSON value. Integers and doubles are kept apart so that integers survive a round trip
/// exactly; `.int(1)` and `.double(1)` are therefore not equal.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

/// Types that describe themselves as JSON, e.g. for `--json` output or state files.
public protocol JSONRepresentable {
    var json: JSON { get }
}

extension JSON: JSONRepresentable {
    public var json: JSON { self }
}

extension Array: JSONRepresentable where Element: JSONRepresentable {
    public var json: JSON { .array(map(\.json)) }
}

extension Dictionary: JSONRepresentable where Key == String, Value: JSONRepresentable {
    public var json: JSON { .object(mapValues(\.json)) }
}

// MARK: - Reading

extension JSON {
    /// The member named `key`; nil when absent or when this is not an object.
    public subscript(key: String) -> JSON? {
        object?[key]
    }

    /// The element at `index`; nil when out of range or when this is not an array.
    public subscript(index: Int) -> JSON? {
        guard let array, array.indices.contains(index) else { return nil }
        return array[index]
    }

    public var string: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// Also accepts a double with an integral value that fits, as written by other producers.
    public var int: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value): Int64(exactly: value)
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    public var bool: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    public var array: [JSON]? {
        if case .array(let value) = self { value } else { nil }
    }

    public var object: [String: JSON]? {
        if case .object(let value) = self { value } else { nil }
    }

    public var isNull: Bool {
        self == .null
    }
}

// MARK: - Literals

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) {
        self = .null
    }

    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }

    public init(integerLiteral value: Int64) {
        self = .int(value)
    }

    public init(floatLiteral value: Double) {
        self = .double(value)
    }

    public init(stringLiteral value: String) {
        self = .string(value)
    }

    public init(arrayLiteral elements: JSON...) {
        self = .array(elements)
    }

    /// Traps on a duplicate key, like a `Dictionary` literal does.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}
