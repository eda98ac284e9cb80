import JSON

/// A client for etcd's v3 JSON gateway (etcd 3.4's /v3 paths). Calls go over one kept-alive
/// connection to the endpoint that answered last, and fail over to the others in order.
/// Not thread-safe: use each client from one thread at a time.
public final class EtcdClient {
    private let endpoints: [Endpoint]
    private let timeoutMilliseconds: Int32
    /// Set when some endpoint uses https.
    private let tlsContext: TLSContext?
    /// Where calls start: the endpoint that answered last.
    private var preferredEndpoint = 0
    private var connection: HTTPConnection?

    public init(_ configuration: EtcdConfiguration) throws(EtcdError) {
        guard !configuration.endpoints.isEmpty else { throw Self.invalid("no etcd endpoint given") }
        var endpoints: [Endpoint] = []
        for text in configuration.endpoints { endpoints.append(try Endpoint(parsing: text)) }
        guard configuration.timeoutMilliseconds > 0 else { throw Self.invalid("the etcd timeout must be positive") }
        let tls = configuration.tls
        guard (tls.certFile == nil) == (tls.keyFile == nil) else {
            throw Self.invalid("an etcd client certificate needs its key file, and a key its certificate file")
        }
        if endpoints.contains(where: \.usesTLS) {
            tlsContext = try TLSContext(tls)
        } else {
            guard tls == EtcdTLS() else { throw Self.invalid("etcd TLS files were given, but no endpoint uses https") }
            tlsContext = nil
        }
        self.endpoints = endpoints
        timeoutMilliseconds = configuration.timeoutMilliseconds
    }

    // MARK: - Keys

    public func get(_ key: String) throws(EtcdError) -> EtcdKeyValue? {
        try call("/v3/kv/range", GatewayRequest.get(key), idempotent: true) { answer throws(EndpointError) in
            try answer.nestedList("kvs").first.map(EtcdKeyValue.init(gateway:))
        }
    }

    public func getPrefix(_ prefix: String) throws(EtcdError) -> EtcdRange {
        try call("/v3/kv/range", GatewayRequest.prefixRange(prefix), idempotent: true) { answer throws(EndpointError) in
            try EtcdRange(keyValues: answer.nestedList("kvs").map(EtcdKeyValue.init(gateway:)), revision: answer.headerRevision())
        }
    }

    /// Returns the revision the put created.
    public func put(_ key: String, _ value: String, lease: Int64? = nil) throws(EtcdError) -> Int64 {
        try call("/v3/kv/put", GatewayRequest.put(key, value, lease: lease), idempotent: false) { answer throws(EndpointError) in
            try answer.headerRevision()
        }
    }

    /// Returns how many keys were deleted: 0 or 1.
    public func delete(_ key: String) throws(EtcdError) -> Int64 {
        try call("/v3/kv/deleterange", GatewayRequest.delete(key), idempotent: false) { answer throws(EndpointError) in
            try answer.integer("deleted")
        }
    }

    /// Runs `success` if every comparison holds, else `failure`, atomically.
    public func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) throws(EtcdError) -> EtcdTxnResult {
        let request: JSON = [
            "compare": .array(compare.map(GatewayRequest.compare)),
            "success": .array(success.map(GatewayRequest.operation)),
            "failure": .array(failure.map(GatewayRequest.operation)),
        ]
        return try call("/v3/kv/txn", request, idempotent: false) { answer throws(EndpointError) in
            var gotKeyValues: [EtcdKeyValue] = []
            for response in try answer.nestedList("responses") {
                // A get that found nothing contributes nothing.
                for keyValue in try response.nested("response_range").nestedList("kvs") {
                    gotKeyValues.append(try EtcdKeyValue(gateway: keyValue))
                }
            }
            return EtcdTxnResult(succeeded: try answer.boolean("succeeded"), revision: try answer.headerRevision(),
                                 gotKeyValues: gotKeyValues)
        }
    }

    // MARK: - Leases

    public func grantLease(ttl: Int64) throws(EtcdError) -> EtcdLease {
        try call("/v3/lease/grant", ["TTL": .int64(ttl)], idempotent: false) { answer throws(EndpointError) in
            EtcdLease(id: try answer.integer("ID"), ttl: try answer.integer("TTL"))
        }
    }

    /// Renews the lease once; returns its TTL, 0 when the lease no longer exists.
    public func keepAlive(_ lease: Int64) throws(EtcdError) -> Int64 {
        // A stream with one answer per request, which the gateway ends after the one request sent.
        try call("/v3/lease/keepalive", ["ID": .int64(lease)], idempotent: true) { answer throws(EndpointError) in
            try answer.integer("TTL")
        }
    }

    /// Revokes the lease and deletes the keys attached to it; an unknown lease is no error.
    public func revokeLease(_ lease: Int64) throws(EtcdError) {
        let (answer, endpoint) = try exchange("/v3/lease/revoke", ["ID": .int64(lease)], idempotent: true)
        // gRPC's NOT_FOUND: the lease expired or was revoked already, as the caller wants it.
        if case .failure(let code, let message) = answer, code != 5 { throw Self.serverError(message, endpoint) }
    }

    /// The seconds the lease has left and was granted; nil when it does not exist.
    public func timeToLive(_ lease: Int64) throws(EtcdError) -> EtcdLeaseTime? {
        try call("/v3/lease/timetolive", ["ID": .int64(lease)], idempotent: true) { answer throws(EndpointError) in
            let remaining = try answer.integer("TTL")
            return remaining < 0 ? nil : EtcdLeaseTime(remaining: remaining, granted: try answer.integer("grantedTTL"))
        }
    }

    // MARK: - Watches

    /// Watches every key that starts with `prefix`, from `fromRevision` on (0: from now), over
    /// a connection of its own.
    public func watchPrefix(_ prefix: String, fromRevision: Int64, progressNotify: Bool = true) throws(EtcdError) -> EtcdWatch {
        let request = GatewayRequest.watch(prefix: prefix, fromRevision: fromRevision, progressNotify: progressNotify)
        let body = Array(request.serialized().utf8)
        let (connection, _) = try onNewConnection(idempotent: true, failures: []) { connection throws(EndpointError) in
            let status = try connection.post("/v3/watch", json: body)
            guard status == 200 else {
                throw EndpointError(kind: .server, reason: GatewayAnswer.failure(status: status, body: try connection.readBody()).message)
            }
            return connection
        }
        return EtcdWatch(connection)
    }

    // MARK: - Requests

    /// POSTs `request` and decodes a successful answer; gateway errors become .server errors.
    private func call<Result>(_ path: String, _ request: JSON, idempotent: Bool,
                              decode: (JSON) throws(EndpointError) -> Result) throws(EtcdError) -> Result {
        let (answer, endpoint) = try exchange(path, request, idempotent: idempotent)
        switch answer {
        case .failure(_, let message):
            throw Self.serverError(message, endpoint)
        case .success(let json):
            do {
                return try decode(json)
            } catch {
                throw EtcdError(failures: [(endpoint, error)])
            }
        }
    }

    /// Sends the request over the kept-alive connection, or else over a new one.
    private func exchange(_ path: String, _ request: JSON, idempotent: Bool) throws(EtcdError) -> (GatewayAnswer, Endpoint) {
        let body = Array(request.serialized().utf8)
        let roundTrip = { (connection: HTTPConnection) throws(EndpointError) -> GatewayAnswer in
            let answer = try GatewayAnswer(status: try connection.post(path, json: body), body: try connection.readBody())
            if connection.isReusable { self.connection = connection }
            return answer
        }
        var failures: [(endpoint: Endpoint, error: EndpointError)] = []
        if let reused = connection {
            connection = nil
            do {
                return (try roundTrip(reused), reused.endpoint)
            } catch {
                // Servers close idle connections; failing before any answer then means the
                // request never reached etcd, so a new connection may send it again.
                if reused.answerStarted || error.timedOut {
                    failures.append((reused.endpoint, error))
                    guard idempotent else {
                        startAfter(reused.endpoint)
                        throw EtcdError(failures: failures)
                    }
                }
            }
        }
        return try onNewConnection(idempotent: idempotent, failures: failures, roundTrip)
    }

    /// Runs `attempt` on a new connection to each endpoint in turn, starting with the one that
    /// answered last, until one succeeds. Failing to connect moves on to the next endpoint;
    /// failing later only when the request is `idempotent`, since etcd may have applied it.
    private func onNewConnection<Result>(idempotent: Bool, failures: [(endpoint: Endpoint, error: EndpointError)],
                                         _ attempt: (HTTPConnection) throws(EndpointError) -> Result) throws(EtcdError) -> (Result, Endpoint) {
        var failures = failures
        for offset in endpoints.indices {
            let index = (preferredEndpoint + offset) % endpoints.count
            let endpoint = endpoints[index]
            let connection: HTTPConnection
            do {
                connection = try HTTPConnection(to: endpoint, tls: endpoint.usesTLS ? tlsContext : nil,
                                                timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                failures.append((endpoint, error))
                continue
            }
            do {
                let result = try attempt(connection)
                preferredEndpoint = index
                return (result, endpoint)
            } catch {
                // etcd itself refused: another member would too.
                if error.kind == .server { throw EtcdError(failures: [(endpoint, error)]) }
                failures.append((endpoint, error))
                guard idempotent else {
                    startAfter(endpoint)
                    throw EtcdError(failures: failures)
                }
            }
        }
        throw EtcdError(failures: failures)
    }

    /// The next calls try `endpoint`, which failed after a request went out, last.
    private func startAfter(_ endpoint: Endpoint) {
        let index = endpoints.firstIndex { $0.text == endpoint.text } ?? preferredEndpoint
        preferredEndpoint = (index + 1) % endpoints.count
    }

    private static func serverError(_ message: String, _ endpoint: Endpoint) -> EtcdError {
        EtcdError(failures: [(endpoint, EndpointError(kind: .server, reason: message))])
    }

    private static func invalid(_ message: String) -> EtcdError {
        EtcdError(kind: .invalidConfiguration, message: message)
    }
}
