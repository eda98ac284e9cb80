/// One HTTP/1.1 connection to an etcd endpoint: JSON POSTs, and responses framed by
/// Content-Length, chunked encoding (etcd's streams and errors) or the connection's end.
final class HTTPConnection {
    let endpoint: Endpoint
    private let stream: any ByteStream
    /// Received bytes; those from `consumed` on are not parsed yet.
    private var received: [UInt8] = []
    private var consumed = 0
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
    private var body = BodyState.finished
    /// False once the server asked to close, or sent a body that ends with the connection.
    private(set) var isReusable = true
    /// Whether any byte of the answer to the last request arrived.
    private(set) var answerStarted = false

    /// Guards against a peer that never stops sending.
    private static let maximumLineLength = 8 * 1024
    private static let maximumHeadLength = 64 * 1024
    private static let maximumBodyLength = 256 * 1024 * 1024

    private enum BodyState {
        case length(remaining: Int)
        /// Next: a chunk's size line.
        case chunkHeader
        case chunkData(remaining: Int)
        /// Next: the line break after a chunk's data.
        case chunkEnd
        case untilClose
        case finished
    }

    /// Connects, with TLS when given a context.
    init(to endpoint: Endpoint, tls: TLSContext?, timeoutMilliseconds: Int32) throws(EndpointError) {
        let socket = try TCPSocket(host: endpoint.host, port: endpoint.port, timeoutMilliseconds: timeoutMilliseconds)
        stream = if let tls { try TLSStream(over: socket, host: endpoint.host, context: tls) } else { socket }
        self.endpoint = endpoint
    }

    deinit { readBuffer.deallocate() }

    var fileDescriptor: Int32 { stream.fileDescriptor }

    /// Received bytes not yet returned, which poll() on the socket does not report.
    var hasBufferedBytes: Bool { consumed < received.count || stream.hasBufferedBytes }

    /// Sends a POST with a JSON body and reads the response's head; returns its status. The
    /// body follows through readBody or readBodyPiece.
    func post(_ path: String, json: [UInt8]) throws(EndpointError) -> Int {
        answerStarted = false
        let head = "POST \(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.count)\r\n\r\n"
        try writeAll(Array(head.utf8) + json)
        return try readHead()
    }

    func readBody() throws(EndpointError) -> [UInt8] {
        var body: [UInt8] = []
        while let piece = try readBodyPiece() {
            body += piece
            guard body.count <= Self.maximumBodyLength else { throw violation("the body exceeds \(Self.maximumBodyLength) bytes") }
        }
        return body
    }

    /// The next part of the body, as soon as some arrived; nil once the body is complete.
    /// Empty when only chunk framing was buffered, so that a streaming reader does not block
    /// on the next chunk here but can poll() for it.
    func readBodyPiece() throws(EndpointError) -> [UInt8]? {
        var readFraming = false
        while true {
            if readFraming && !hasBufferedBytes { return [] }
            switch body {
            case .finished:
                return nil
            case .length(let remaining):
                guard remaining > 0 else {
                    body = .finished
                    return nil
                }
                let piece = try take(upTo: remaining)
                body = .length(remaining: remaining - piece.count)
                return piece
            case .chunkData(let remaining):
                let piece = try take(upTo: remaining)
                body = piece.count == remaining ? .chunkEnd : .chunkData(remaining: remaining - piece.count)
                return piece
            case .chunkEnd:
                guard try readLine().isEmpty else { throw violation("a chunk is longer than its size") }
                body = .chunkHeader
                readFraming = true
            case .chunkHeader:
                let line = try readLine()
                guard let size = Int(line.prefix { $0 != ";" }, radix: 16), size >= 0 else {
                    throw violation("invalid chunk size \"\(line.prefix(20))\"")
                }
                guard size > 0 else {
                    // The last chunk; trailers (etcd sends Grpc-Trailer-Content-Type) end with an empty line.
                    while try !readLine().isEmpty {}
                    body = .finished
                    return nil
                }
                body = .chunkData(remaining: size)
                readFraming = true
            case .untilClose:
                if consumed == received.count {
                    guard try receiveMore() else {
                        body = .finished
                        return nil
                    }
                }
                return try take(upTo: received.count - consumed)
            }
        }
    }

    private func readHead() throws(EndpointError) -> Int {
        let statusLine = try readLine()
        // "HTTP/1.1 200 OK"
        let fields = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), fields[1].count == 3, let status = Int(fields[1]) else {
            throw violation("not an HTTP response: \"\(statusLine.prefix(40))\"")
        }
        if fields[0] == "HTTP/1.0" { isReusable = false }
        var framing = BodyState.untilClose
        var headLength = statusLine.utf8.count
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            headLength += line.utf8.count
            guard headLength <= Self.maximumHeadLength else { throw violation("the response head exceeds \(Self.maximumHeadLength) bytes") }
            guard let colon = line.firstIndex(of: ":") else { throw violation("malformed header \"\(line.prefix(40))\"") }
            let value = trimmed(line[line.index(after: colon)...]).lowercased()
            switch line[..<colon].lowercased() {
            case "content-length":
                guard let length = Int(value), length >= 0, length <= Self.maximumBodyLength else {
                    throw violation("invalid Content-Length \"\(value.prefix(20))\"")
                }
                if case .untilClose = framing { framing = .length(remaining: length) }
            case "transfer-encoding":
                guard value == "chunked" else { throw violation("unsupported Transfer-Encoding \"\(value.prefix(20))\"") }
                framing = .chunkHeader
            case "connection":
                if value == "close" { isReusable = false }
            default:
                break
            }
        }
        if case .untilClose = framing { isReusable = false }
        body = framing
        return status
    }

    /// A line without its CRLF (or bare LF).
    private func readLine() throws(EndpointError) -> String {
        var scanned = 0
        while true {
            if let newline = received[(consumed + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                let end = newline > consumed && received[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
                let line = String(decoding: received[consumed..<end], as: UTF8.self)
                consumed = newline + 1
                return line
            }
            scanned = received.count - consumed
            guard scanned <= Self.maximumLineLength else { throw violation("a line exceeds \(Self.maximumLineLength) bytes") }
            try requireMore()
        }
    }

    /// Up to `limit` bytes: those buffered, or else what one read brings.
    private func take(upTo limit: Int) throws(EndpointError) -> [UInt8] {
        if consumed == received.count { try requireMore() }
        let end = min(received.count, consumed + limit)
        defer { consumed = end }
        return Array(received[consumed..<end])
    }

    private func requireMore() throws(EndpointError) {
        guard try receiveMore() else {
            throw EndpointError(kind: .unreachable, reason: answerStarted ? "the connection closed mid-response" : "the connection was closed")
        }
    }

    /// Appends what one read brings, blocking up to the socket timeout; false when the peer closed.
    private func receiveMore() throws(EndpointError) -> Bool {
        // Drops parsed bytes once they are a large share, so that appending stays amortized O(1).
        if consumed > 0 && consumed * 2 >= received.count {
            received.removeSubrange(..<consumed)
            consumed = 0
        }
        let count = try stream.read(into: readBuffer)
        guard count > 0 else {
            isReusable = false
            return false
        }
        answerStarted = true
        received.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
        return true
    }

    private func writeAll(_ bytes: [UInt8]) throws(EndpointError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Result { () throws(EndpointError) in try stream.write(UnsafeRawBufferPointer(rebasing: buffer[offset...])) }
            }
            offset += try written.get()
        }
    }

    private func violation(_ reason: String) -> EndpointError {
        isReusable = false
        return EndpointError(kind: .protocolViolation, reason: reason)
    }
}

private func trimmed(_ text: Substring) -> Substring {
    var text = text.drop { $0 == " " || $0 == "\t" }
    while text.last == " " || text.last == "\t" { text = text.dropLast() }
    return text
}
