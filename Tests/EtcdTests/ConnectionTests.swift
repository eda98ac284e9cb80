import Dispatch
import Etcd
import Foundation
import Testing

/// Each test gets a fresh etcd (a new suite instance per test); see EtcdServer.
@Suite("Connections to a real etcd")
struct ConnectionTests {
    let server: EtcdServer
    let client: EtcdClient

    init() throws {
        server = try EtcdServer()
        client = try EtcdClient(EtcdConfiguration(endpoints: [server.clientURL]))
    }

    @Test func failsOverPastAClosedPort() throws {
        let closed = "http://127.0.0.1:\(try freeLoopbackPort())"
        let client = try EtcdClient(EtcdConfiguration(endpoints: [closed, server.clientURL]))
        _ = try client.put("/k", "v")
        #expect(try client.get("/k")?.value == "v")
        let watch = try client.watchPrefix("/", fromRevision: 1)
        #expect(try watch.next(timeoutMilliseconds: 2000) != nil)
    }

    @Test func reconnectsWhenTheServerClosedTheConnection() throws {
        _ = try client.put("/k", "v")
        try server.restart()  // closes the kept-alive connection
        // A put is not repeated after a failure in general, but a connection the server had
        // closed never delivered it.
        _ = try client.put("/k", "w")
        #expect(try client.get("/k")?.value == "w")
        try server.restart()
        #expect(try client.get("/k")?.value == "w")
    }
}

/// Failures without an etcd: closed ports, a server that never answers, and fakes that answer
/// with something other than what etcd's gateway sends.
@Suite("Unreachable, hung and impostor servers")
struct ConnectionFailureTests {
    @Test func unreachableEndpointsFailPromptlyNamingThem() throws {
        let first = "http://127.0.0.1:\(try freeLoopbackPort())", second = "127.0.0.1:\(try freeLoopbackPort())"
        let single = try EtcdClient(EtcdConfiguration(endpoints: [first]))
        let started = Date()
        let error = #expect(throws: EtcdError.self) { _ = try single.get("/k") }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 0.5, "took \(elapsed) s")
        #expect(error?.kind == .unreachable)
        #expect(error?.description == "etcd at \(first) is unreachable: connection refused")

        let both = try EtcdClient(EtcdConfiguration(endpoints: [first, second]))
        let bothError = #expect(throws: EtcdError.self) { _ = try both.watchPrefix("/", fromRevision: 0) }
        #expect(bothError?.kind == .unreachable)
        #expect(bothError?.description == "etcd is unreachable: \(first): connection refused; \(second): connection refused")
    }

    @Test func hungServerRespectsTheTimeout() throws {
        let hung = try LoopbackListener()
        let http = "http://127.0.0.1:\(hung.port)", https = "https://127.0.0.1:\(hung.port)"
        let client = try EtcdClient(EtcdConfiguration(endpoints: [http], timeoutMilliseconds: 300))
        let tlsClient = try EtcdClient(EtcdConfiguration(endpoints: [https], timeoutMilliseconds: 300))
        let calls: [(() throws -> Void, String)] = [
            ({ _ = try client.get("/k") }, "etcd at \(http) is unreachable: no progress within 300 ms"),
            ({ _ = try client.put("/k", "v") }, "etcd at \(http) is unreachable: no progress within 300 ms"),
            ({ _ = try tlsClient.get("/k") }, "etcd at \(https) is unreachable: TLS handshake failed: timed out"),
        ]
        for (call, message) in calls {
            let started = Date()
            let error = #expect(throws: EtcdError.self, performing: call)
            let elapsed = Date().timeIntervalSince(started)
            #expect(abs(elapsed - 0.3) <= 0.2, "took \(elapsed) s for a 300 ms timeout")
            #expect(error?.kind == .unreachable)
            #expect(error?.description == message)
        }
    }

    @Test func rejectsAnswersThatAreNotEtcds() throws {
        let ok = "HTTP/1.1 200 OK\r\n"
        let answers: [(String, EtcdError.Kind)] = [
            ("garbage\r\n\r\n", .protocolViolation),
            (ok + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", .protocolViolation),
            (ok + "Content-Length: 5\r\n\r\n{\"a\":", .protocolViolation),
            (ok + "Content-Length: 8\r\n\r\n{\"a\":1}\n", .protocolViolation),
            (ok + "Content-Length: 31\r\n\r\n{\"header\":{},\"kvs\":[{\"key\":1}]}", .protocolViolation),
            (ok + "Content-Length: 34\r\n\r\n{\"header\":{},\"kvs\":[{\"key\":\"!!\"}]}", .protocolViolation),
            (ok + "Content-Length: 100\r\n\r\n{}", .unreachable),  // cut short: the connection broke
        ]
        for (answer, kind) in answers {
            let fake = try CannedServer(answer: answer)
            let client = try EtcdClient(EtcdConfiguration(endpoints: ["http://127.0.0.1:\(fake.port)"], timeoutMilliseconds: 1000))
            let error = #expect(throws: EtcdError.self, "\(answer)") { _ = try client.get("/k") }
            #expect(error?.kind == kind, "\(answer): \(String(describing: error))")
            #expect(error?.description.contains("\n") == false)
        }
    }

    @Test func watchStreamErrorsAndGarbageEndTheWatch() throws {
        let created = #"{"result":{"header":{"revision":"7"},"created":true}}"# + "\n"
        let lines: [(String, EtcdError.Kind)] = [
            // What the gateway streams when the gRPC stream fails.
            (#"{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}"#, .server),
            (#"{"result":{"header":{},"events":[{"type":"EXPIRE","kv":{}}]}}"#, .protocolViolation),
            ("not json", .protocolViolation),
        ]
        for (line, kind) in lines {
            let body = created + line + "\n"
            let chunked = String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
            let fake = try CannedServer(answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
            let client = try EtcdClient(EtcdConfiguration(endpoints: ["http://127.0.0.1:\(fake.port)"], timeoutMilliseconds: 1000))
            let watch = try client.watchPrefix("/", fromRevision: 0)
            #expect(try watch.next(timeoutMilliseconds: 1000) == .created(revision: 7))
            let error = #expect(throws: EtcdError.self, "\(line)") { _ = try watch.next(timeoutMilliseconds: 1000) }
            #expect(error?.kind == kind, "\(line): \(String(describing: error))")
        }
    }
}

/// Answers one connection with a fixed text, whatever was asked, then closes it.
final class CannedServer {
    private let listener: LoopbackListener
    var port: UInt16 { listener.port }

    init(answer: String) throws {
        listener = try LoopbackListener()
        let fd = listener.fd, bytes = Array(answer.utf8)
        DispatchQueue.global().async {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            var request = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &request, request.count)
            _ = write(connection, bytes, bytes.count)
            close(connection)
        }
    }
}
