/// A failure on the way to or from one endpoint, worded for the user by the client, which
/// knows the endpoint and whether others were tried.
struct EndpointError: Error {
    /// .unreachable, .tls or .protocolViolation.
    var kind: EtcdError.Kind
    var reason: String
    /// A socket timeout expired: the server may still be working on the request.
    var timedOut = false
}

extension EtcdError {
    /// "etcd at URL is unreachable: connection refused" for one endpoint; with several, every
    /// endpoint and why it failed.
    init(failures: [(endpoint: Endpoint, error: EndpointError)]) {
        if failures.count == 1, let (endpoint, error) = failures.first {
            let message = switch error.kind {
            case .unreachable: "etcd at \(endpoint.text) is unreachable: \(error.reason)"
            case .protocolViolation: "etcd at \(endpoint.text) sent an invalid response: \(error.reason)"
            default: "etcd at \(endpoint.text): \(error.reason)"
            }
            self.init(kind: error.kind, message: message)
            return
        }
        let kind = failures.allSatisfy { $0.error.kind == failures[0].error.kind } ? failures[0].error.kind : .unreachable
        let reasons = failures.map { "\($0.endpoint.text): \($0.error.reason)" }.joined(separator: "; ")
        self.init(kind: kind, message: "etcd is unreachable: \(reasons)")
    }
}
