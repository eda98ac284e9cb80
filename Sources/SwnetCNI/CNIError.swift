import JSON

/// A failure as the CNI spec reports it: JSON on stdout with a well-known code.
public struct CNIError: Error, Sendable, CustomStringConvertible {
    public enum Code: Int64, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodingFailure = 6
        case invalidConfiguration = 7
        case tryAgainLater = 11
        case cannotServeAdd = 50
        /// Codes from 100 up are the plugin's own: swnet refused or failed.
        case swnetFailure = 100
    }

    public var code: Code
    public var message: String
    public var details: String

    public init(_ code: Code, _ message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { message }

    func json(cniVersion: String) -> JSON {
        ["cniVersion": .string(cniVersion), "code": .int(code.rawValue), "msg": .string(message), "details": .string(details)]
    }
}
