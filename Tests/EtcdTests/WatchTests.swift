import Etcd
import Foundation
import Testing

/// Each test gets a fresh etcd (a new suite instance per test); see EtcdServer.
@Suite("Watches against a real etcd")
struct WatchTests {
    let server: EtcdServer
    let client: EtcdClient

    init() throws {
        server = try EtcdServer()
        client = try EtcdClient(EtcdConfiguration(endpoints: [server.clientURL]))
    }

    @Test func createdThenEventsInOrderThenProgress() throws {
        let start = try client.put("/other", "before")
        let watch = try client.watchPrefix("/net/", fromRevision: start + 1)
        defer { watch.close() }
        #expect(try watch.next(timeoutMilliseconds: 2000) == .created(revision: start))

        let put = try client.put("/net/a", "1")
        _ = try client.put("/outside", "ignored")
        let update = try client.put("/net/a", "2")
        #expect(try client.delete("/net/a") == 1)
        let deleted = update + 1

        var events: [EtcdEvent] = []
        let deadline = Date().addingTimeInterval(5)
        while events.count < 3 && Date() < deadline {
            if case .events(let batch, let revision)? = try watch.next(timeoutMilliseconds: 500) {
                #expect(revision >= batch.last?.keyValue.modRevision ?? .max)
                events += batch
            }
        }
        #expect(events == [
            EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: "/net/a", value: "1", createRevision: put, modRevision: put, version: 1, lease: 0)),
            EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: "/net/a", value: "2", createRevision: put, modRevision: update, version: 2, lease: 0)),
            EtcdEvent(kind: .delete, keyValue: EtcdKeyValue(key: "/net/a", value: "", createRevision: 0, modRevision: deleted, version: 0, lease: 0)),
        ])

        // The fixture's etcd notifies progress every second.
        var progress: EtcdWatchMessage?
        while progress == nil && Date() < deadline.addingTimeInterval(3) {
            progress = try watch.next(timeoutMilliseconds: 500)
        }
        #expect(progress == .progress(revision: deleted))
    }

    @Test func replaysHistoryAndPollsWithTimeout() throws {
        let first = try client.put("/net/a", "1")
        _ = try client.put("/net/b", "2")
        let watch = try client.watchPrefix("/net/", fromRevision: first, progressNotify: false)
        #expect(try watch.next(timeoutMilliseconds: 2000) == .created(revision: first + 1))
        guard case .events(let events, _)? = try watch.next(timeoutMilliseconds: 2000) else {
            Issue.record("expected the history since revision \(first)")
            return
        }
        #expect(events.map(\.keyValue.key) == ["/net/a", "/net/b"])

        let started = Date()
        #expect(try watch.next(timeoutMilliseconds: 300) == nil)
        let waited = Date().timeIntervalSince(started)
        #expect(abs(waited - 0.3) <= 0.25, "waited \(waited) s for a 300 ms timeout")
        #expect(try watch.next(timeoutMilliseconds: 0) == nil)

        // poll() on the descriptor tells when to call next() again.
        _ = try client.put("/net/c", "3")
        var entry = pollfd(fd: watch.fileDescriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, 2000)
        #expect(ready == 1)
        guard case .events(let later, _)? = try watch.next(timeoutMilliseconds: 0) else {
            Issue.record("expected /net/c")
            return
        }
        #expect(later.map(\.keyValue.value) == ["3"])

        watch.close()
        let closed = #expect(throws: EtcdError.self) { _ = try watch.next(timeoutMilliseconds: 0) }
        #expect(closed?.kind == .unreachable)
    }

    @Test func watchFromACompactedRevisionReportsTheCompaction() throws {
        let first = try client.put("/net/a", "1")
        _ = try client.put("/net/a", "2")
        let last = try client.put("/net/a", "3")
        _ = try server.etcdctl(["compact", String(last)])

        let watch = try client.watchPrefix("/net/", fromRevision: first)
        // etcd 3.4 first confirms the watch, then cancels it with the compact revision.
        #expect(try watch.next(timeoutMilliseconds: 2000) == .created(revision: last))
        #expect(try watch.next(timeoutMilliseconds: 2000) == .compacted(compactRevision: last))
        let cancelled = #expect(throws: EtcdError.self) { _ = try watch.next(timeoutMilliseconds: 0) }
        #expect(cancelled?.kind == .unreachable)

        // From the compact revision on, history is still there.
        let resumed = try client.watchPrefix("/net/", fromRevision: last)
        #expect(try resumed.next(timeoutMilliseconds: 2000) == .created(revision: last))
        guard case .events(let events, _)? = try resumed.next(timeoutMilliseconds: 2000) else {
            Issue.record("expected an event")
            return
        }
        #expect(events.map(\.keyValue.value) == ["3"])
    }
}
