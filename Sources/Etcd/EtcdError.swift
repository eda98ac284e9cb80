/// A failed etcd call, with a one-line message for the user, e.g.
/// "etcd at http://10.0.0.1:2379 is unreachable: connection refused".
public struct EtcdError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// Bad endpoints or TLS settings; nothing was sent.
        case invalidConfiguration
        /// No endpoint could be connected to, or one stopped answering.
        case unreachable
        /// A TLS handshake, certificate or record failure.
        case tls
        /// etcd answered with an error, e.g. "etcdserver: requested lease not found".
        case server
        /// The answer was not what etcd's gateway sends: not HTTP, not JSON, missing fields.
        case protocolViolation
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
