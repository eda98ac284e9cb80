import Glibc
import JSON

/// A watch on a key prefix, over a connection of its own: etcd answers with a chunked
/// response that carries one JSON message per line for as long as the watch lasts.
public final class EtcdWatch {
    private let endpoint: Endpoint
    /// Nil once closed.
    private var connection: HTTPConnection?
    /// Body bytes from `start` on are not yet split into messages; the first `scanned` of them
    /// hold no line break.
    private var pending: [UInt8] = []
    private var start = 0
    private var scanned = 0

    private static let maximumMessageLength = 64 * 1024 * 1024

    init(_ connection: HTTPConnection) {
        endpoint = connection.endpoint
        self.connection = connection
    }

    /// For poll() in an event loop; -1 once closed. Received messages can wait in buffers that
    /// poll() does not see (this watch's, and TLS's): after next() returned a message, call it
    /// with timeout 0 until it returns nil before polling again.
    public var fileDescriptor: Int32 { connection?.fileDescriptor ?? -1 }

    /// The next message, waiting up to `timeoutMilliseconds` (negative: indefinitely); nil when
    /// none arrived in time. After `.compacted` or `.canceled` the watch is closed.
    public func next(timeoutMilliseconds: Int32) throws(EtcdError) -> EtcdWatchMessage? {
        guard let connection else { throw EtcdError(kind: .unreachable, message: "the etcd watch on \(endpoint.text) is closed") }
        let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            if let line = takeLine() {
                let message = try decode(line)
                switch message {
                case .compacted, .canceled: close()
                default: break
                }
                return message
            }
            if !connection.hasBufferedBytes {
                let remaining = timeoutMilliseconds < 0 ? -1 : Int32(clamping: max(0, deadline - monotonicMilliseconds()))
                var entry = pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&entry, 1, remaining)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 { return nil }
            }
            do throws(EndpointError) {
                guard let piece = try connection.readBodyPiece() else {
                    throw EndpointError(kind: .unreachable, reason: "it ended the watch")
                }
                guard pending.count - start + piece.count <= Self.maximumMessageLength else {
                    throw EndpointError(kind: .protocolViolation, reason: "a watch message exceeds \(Self.maximumMessageLength) bytes")
                }
                append(piece)
            } catch {
                close()
                throw EtcdError(failures: [(endpoint, error)])
            }
        }
    }

    /// Ends the watch: etcd cancels it when the connection closes.
    public func close() {
        connection = nil
    }

    private func append(_ piece: [UInt8]) {
        // Drops split-off messages once they are a large share, so appending stays amortized O(1).
        if start > 0 && start * 2 >= pending.count {
            pending.removeSubrange(..<start)
            start = 0
        }
        pending += piece
    }

    private func takeLine() -> ArraySlice<UInt8>? {
        guard let newline = pending[(start + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = pending.count - start
            return nil
        }
        defer {
            start = newline + 1
            scanned = 0
        }
        return pending[start..<newline]
    }

    private func decode(_ line: ArraySlice<UInt8>) throws(EtcdError) -> EtcdWatchMessage {
        do throws(EndpointError) {
            let document: JSON
            do {
                document = try JSON(parsing: line)
            } catch {
                throw EndpointError(kind: .protocolViolation, reason: "a watch message is not JSON: \(error)")
            }
            switch try GatewayAnswer(document: document) {
            case .failure(_, let message): throw EndpointError(kind: .server, reason: message)
            case .success(let result): return try EtcdWatchMessage(gateway: result)
            }
        } catch {
            close()
            throw EtcdError(failures: [(endpoint, error)])
        }
    }
}

extension EtcdWatchMessage {
    /// etcd 3.4 reports a start revision that was compacted away with "created" first, then
    /// {"canceled": true, "compact_revision": "N"}; a progress notification has neither
    /// events nor flags.
    init(gateway result: JSON) throws(EndpointError) {
        let revision = try result.headerRevision()
        let compactRevision = try result.integer("compact_revision")
        if compactRevision != 0 {
            self = .compacted(compactRevision: compactRevision)
        } else if try result.boolean("canceled") {
            self = .canceled(reason: try result.text("cancel_reason"))
        } else if try result.boolean("created") {
            self = .created(revision: revision)
        } else {
            let events = try result.nestedList("events").map(EtcdEvent.init(gateway:))
            self = events.isEmpty ? .progress(revision: revision) : .events(events, revision: revision)
        }
    }
}

extension EtcdEvent {
    /// The type is left out for puts, the zero value.
    init(gateway json: JSON) throws(EndpointError) {
        let kind: Kind = switch try json.text("type") {
        case "", "PUT": .put
        case "DELETE": .delete
        case let other: throw EndpointError(kind: .protocolViolation, reason: "unknown event type \"\(other.prefix(20))\"")
        }
        self.init(kind: kind, keyValue: try EtcdKeyValue(gateway: json.nested("kv")))
    }
}

private func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
