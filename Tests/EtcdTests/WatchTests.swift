import Etcd
import Foundation
import XCTest

final class WatchTests: EtcdTestCase {
    func testCreatedEventsInOrderAndProgress() throws {
        let start = try client.put("/other", "before")
        let watch = try client.watchPrefix("/net/", fromRevision: start + 1)
        defer { watch.close() }
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000), .created(revision: start))

        let put = try client.put("/net/a", "1")
        _ = try client.put("/outside", "ignored")
        let update = try client.put("/net/a", "2")
        XCTAssertEqual(try client.delete("/net/a"), 1)
        let deleted = update + 1

        var events: [EtcdEvent] = []
        let deadline = Date().addingTimeInterval(5)
        while events.count < 3 && Date() < deadline {
            if case .events(let batch, let revision)? = try watch.next(timeoutMilliseconds: 500) {
                XCTAssertGreaterThanOrEqual(revision, batch.last?.keyValue.modRevision ?? .max)
                events += batch
            }
        }
        XCTAssertEqual(events, [
            EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: "/net/a", value: "1", createRevision: put, modRevision: put, version: 1, lease: 0)),
            EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: "/net/a", value: "2", createRevision: put, modRevision: update, version: 2, lease: 0)),
            EtcdEvent(kind: .delete, keyValue: EtcdKeyValue(key: "/net/a", value: "", createRevision: 0, modRevision: deleted, version: 0, lease: 0)),
        ])

        // The fixture's etcd notifies progress every second.
        var progress: EtcdWatchMessage?
        while progress == nil && Date() < deadline.addingTimeInterval(3) {
            progress = try watch.next(timeoutMilliseconds: 500)
        }
        XCTAssertEqual(progress, .progress(revision: deleted))
    }

    func testReplaysHistoryAndPollsWithTimeout() throws {
        let first = try client.put("/net/a", "1")
        _ = try client.put("/net/b", "2")
        let watch = try client.watchPrefix("/net/", fromRevision: first, progressNotify: false)
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000), .created(revision: first + 1))
        guard case .events(let events, _)? = try watch.next(timeoutMilliseconds: 2000) else {
            return XCTFail("expected the history since revision \(first)")
        }
        XCTAssertEqual(events.map(\.keyValue.key), ["/net/a", "/net/b"])

        let started = Date()
        XCTAssertNil(try watch.next(timeoutMilliseconds: 300))
        XCTAssertEqual(Date().timeIntervalSince(started), 0.3, accuracy: 0.25)
        XCTAssertNil(try watch.next(timeoutMilliseconds: 0))

        // poll() on the descriptor tells when to call next() again.
        _ = try client.put("/net/c", "3")
        var entry = pollfd(fd: watch.fileDescriptor, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&entry, 1, 2000), 1)
        guard case .events(let later, _)? = try watch.next(timeoutMilliseconds: 0) else { return XCTFail("expected /net/c") }
        XCTAssertEqual(later.map(\.keyValue.value), ["3"])

        watch.close()
        XCTAssertEqual(etcdError { _ = try watch.next(timeoutMilliseconds: 0) }?.kind, .unreachable)
    }

    func testWatchFromCompactedRevisionReportsCompaction() throws {
        let first = try client.put("/net/a", "1")
        _ = try client.put("/net/a", "2")
        let last = try client.put("/net/a", "3")
        _ = try server.etcdctl(["compact", String(last)])

        let watch = try client.watchPrefix("/net/", fromRevision: first)
        // etcd 3.4 first confirms the watch, then cancels it with the compact revision.
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000), .created(revision: last))
        XCTAssertEqual(try watch.next(timeoutMilliseconds: 2000), .compacted(compactRevision: last))
        XCTAssertEqual(etcdError { _ = try watch.next(timeoutMilliseconds: 0) }?.kind, .unreachable)

        // From the compact revision on, history is still there.
        let resumed = try client.watchPrefix("/net/", fromRevision: last)
        XCTAssertEqual(try resumed.next(timeoutMilliseconds: 2000), .created(revision: last))
        guard case .events(let events, _)? = try resumed.next(timeoutMilliseconds: 2000) else { return XCTFail("expected an event") }
        XCTAssertEqual(events.map(\.keyValue.value), ["3"])
    }
}
