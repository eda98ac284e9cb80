import JSON

// The gateway's JSON: int64 values are decimal strings, keys and values base64, and fields
// with zero values (0, false, "", empty lists) are left out of answers.

extension JSON {
    static func base64(_ bytes: some Collection<UInt8>) -> JSON { .string(Base64.encode(bytes)) }

    static func int64(_ value: Int64) -> JSON { .string(String(value)) }
}

/// Request bodies, shared by the calls and the transaction operations that mirror them.
enum GatewayRequest {
    static func get(_ key: String) -> JSON {
        ["key": .base64(key.utf8)]
    }

    /// Every key that starts with `prefix` ("" for all keys).
    static func prefixRange(_ prefix: String) -> JSON {
        .object(prefixRangeMembers(prefix))
    }

    private static func prefixRangeMembers(_ prefix: String) -> [String: JSON] {
        let bytes = Array(prefix.utf8)
        // etcd rejects an empty key; "\0" up to "\0" means every key.
        return ["key": .base64(bytes.isEmpty ? [0] : bytes), "range_end": .base64(rangeEnd(ofPrefix: bytes))]
    }

    static func put(_ key: String, _ value: String, lease: Int64?) -> JSON {
        var request: [String: JSON] = ["key": .base64(key.utf8), "value": .base64(value.utf8)]
        if let lease { request["lease"] = .int64(lease) }
        return .object(request)
    }

    static func delete(_ key: String) -> JSON {
        ["key": .base64(key.utf8)]
    }

    static func compare(_ compare: EtcdCompare) -> JSON {
        switch compare {
        case .absent(let key):
            // A key that does not exist has create revision 0.
            ["key": .base64(key.utf8), "target": "CREATE", "result": "EQUAL", "create_revision": "0"]
        case .noKeys(let prefix):
            // Over a range every key must match; an empty range compares as one absent key.
            .object(prefixRangeMembers(prefix).merging(["target": "CREATE", "result": "EQUAL", "create_revision": "0"]) { $1 })
        case .value(let key, let value):
            ["key": .base64(key.utf8), "target": "VALUE", "result": "EQUAL", "value": .base64(value.utf8)]
        case .modRevision(let key, let revision):
            ["key": .base64(key.utf8), "target": "MOD", "result": "EQUAL", "mod_revision": .int64(revision)]
        }
    }

    static func operation(_ operation: EtcdOperation) -> JSON {
        switch operation {
        case .put(let key, let value, let lease): ["request_put": put(key, value, lease: lease)]
        case .get(let key): ["request_range": get(key)]
        case .delete(let key): ["request_delete_range": delete(key)]
        }
    }

    static func watch(prefix: String, fromRevision: Int64, progressNotify: Bool) -> JSON {
        var request = prefixRangeMembers(prefix)
        if fromRevision > 0 { request["start_revision"] = .int64(fromRevision) }
        if progressNotify { request["progress_notify"] = true }
        return ["create_request": .object(request)]
    }

    /// The first key after every key that starts with `prefix`: the prefix up to its last byte
    /// below 0xFF, incremented; "\0" (no end) when there is none.
    static func rangeEnd(ofPrefix prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.popLast() {
            if last < 0xFF {
                end.append(last + 1)
                return end
            }
        }
        return [0]
    }
}

/// Reading answers; the receiver is an object (checked by whoever took it out of its parent).
extension JSON {
    func integer(_ field: String) throws(EndpointError) -> Int64 {
        switch self[field] {
        case nil: return 0
        case .int(let value)?: return value
        case .string(let text)?:
            guard let value = Int64(text) else { throw invalidField(field) }
            return value
        default: throw invalidField(field)
        }
    }

    func boolean(_ field: String) throws(EndpointError) -> Bool {
        switch self[field] {
        case nil: return false
        case .bool(let value)?: return value
        default: throw invalidField(field)
        }
    }

    func text(_ field: String) throws(EndpointError) -> String {
        switch self[field] {
        case nil: return ""
        case .string(let value)?: return value
        default: throw invalidField(field)
        }
    }

    /// A base64 field as text. Bytes that are not UTF-8 (written by other clients) are
    /// replaced rather than rejected, so that one odd key cannot make a whole prefix unreadable.
    func decodedText(_ field: String) throws(EndpointError) -> String {
        guard let bytes = Base64.decode(try text(field)) else { throw invalidField(field) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A nested object; absent means empty.
    func nested(_ field: String) throws(EndpointError) -> JSON {
        switch self[field] {
        case nil: return .object([:])
        case .object(let members)?: return .object(members)
        default: throw invalidField(field)
        }
    }

    /// A list of objects; absent means empty.
    func nestedList(_ field: String) throws(EndpointError) -> [JSON] {
        guard let value = self[field] else { return [] }
        guard let list = value.array, list.allSatisfy({ $0.object != nil }) else { throw invalidField(field) }
        return list
    }

    /// header.revision: the store's revision when the answer was made.
    func headerRevision() throws(EndpointError) -> Int64 {
        try nested("header").integer("revision")
    }

    private func invalidField(_ field: String) -> EndpointError {
        EndpointError(kind: .protocolViolation, reason: "invalid \"\(field)\" in \(serialized().prefix(200))")
    }
}

extension EtcdKeyValue {
    init(gateway json: JSON) throws(EndpointError) {
        try self.init(key: json.decodedText("key"), value: json.decodedText("value"),
                      createRevision: json.integer("create_revision"), modRevision: json.integer("mod_revision"),
                      version: json.integer("version"), lease: json.integer("lease"))
    }
}

/// What the gateway answered: an object with a header, or an error.
enum GatewayAnswer {
    case success(JSON)
    /// gRPC's status code, unless it was not etcd that answered.
    case failure(grpcCode: Int64?, message: String)

    init(status: Int, body: [UInt8]) throws(EndpointError) {
        guard status == 200 else {
            let (grpcCode, message) = Self.failure(status: status, body: body)
            self = .failure(grpcCode: grpcCode, message: message)
            return
        }
        guard let json = try? JSON(parsing: body) else {
            throw EndpointError(kind: .protocolViolation, reason: "not JSON: \"\(String(decoding: body.prefix(80), as: UTF8.self))\"")
        }
        try self.init(document: json)
    }

    /// Errors come as {"error": …, "code": N, "message": …}, or as plain text when it was not
    /// etcd that answered.
    static func failure(status: Int, body: [UInt8]) -> (grpcCode: Int64?, message: String) {
        if let json = try? JSON(parsing: body), json.object != nil, let message = try? json.text("message"), !message.isEmpty {
            return (try? json.integer("code"), message)
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).split(separator: "\n").first ?? ""
        return (nil, "HTTP status \(status): \(text)")
    }

    /// A unary answer is the object itself; a stream sends {"result": answer} per message, or
    /// {"error": {"grpc_code": N, "message": …}} when it fails.
    init(document: JSON) throws(EndpointError) {
        if let error = document["error"], error.object != nil {
            self = .failure(grpcCode: try error.integer("grpc_code"), message: try error.text("message"))
            return
        }
        let answer = document["result"] ?? document
        guard answer["header"]?.object != nil else {
            throw EndpointError(kind: .protocolViolation, reason: "expected an answer with a header, got \(document.serialized().prefix(200))")
        }
        self = .success(answer)
    }
}
