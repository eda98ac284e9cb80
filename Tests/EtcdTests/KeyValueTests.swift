import Etcd
import XCTest

final class KeyValueTests: EtcdTestCase {
    func testPutGetPrefixDelete() throws {
        XCTAssertNil(try client.get("/swnet/a"))
        let first = try client.put("/swnet/a", "1")
        let second = try client.put("/swnet/b", "zwei ü")
        _ = try client.put("/swnet/b", "")  // an empty value, which etcd leaves out of its answers
        _ = try client.put("/swnetz", "outside the prefix")
        XCTAssertGreaterThan(second, first)

        let a = try XCTUnwrap(try client.get("/swnet/a"))
        XCTAssertEqual(a, EtcdKeyValue(key: "/swnet/a", value: "1", createRevision: first, modRevision: first, version: 1, lease: 0))
        let b = try XCTUnwrap(try client.get("/swnet/b"))
        XCTAssertEqual(b.value, "")
        XCTAssertEqual(b.version, 2)
        XCTAssertEqual(b.createRevision, second)

        let range = try client.getPrefix("/swnet/")
        XCTAssertEqual(range.keyValues.map(\.key), ["/swnet/a", "/swnet/b"])
        XCTAssertEqual(range.revision, b.modRevision + 1)
        XCTAssertEqual(try client.getPrefix("").keyValues.count, 3)
        let nothing = try client.getPrefix("/nothing/")  // etcd leaves out "kvs" and "count"
        XCTAssertEqual(nothing.keyValues, [])
        XCTAssertEqual(nothing.revision, range.revision)

        XCTAssertEqual(try client.delete("/swnet/a"), 1)
        XCTAssertEqual(try client.delete("/swnet/a"), 0)
        XCTAssertNil(try client.get("/swnet/a"))
        XCTAssertEqual(try client.getPrefix("/swnet/").keyValues.map(\.key), ["/swnet/b"])
    }

    func testCreateIfAbsentFirstWins() throws {
        let create = { (value: String) throws -> EtcdTxnResult in
            try self.client.txn(compare: [.absent(key: "/lock")],
                                success: [.put(key: "/lock", value: value, lease: nil)],
                                failure: [.get(key: "/lock")])
        }
        let first = try create("first")
        XCTAssertTrue(first.succeeded)
        XCTAssertEqual(first.gotKeyValues, [])

        let second = try create("second")
        XCTAssertFalse(second.succeeded)  // etcd leaves "succeeded" out when false
        XCTAssertEqual(second.revision, first.revision)
        XCTAssertEqual(second.gotKeyValues.map(\.value), ["first"])
        XCTAssertEqual(second.gotKeyValues.first?.modRevision, first.revision)
    }

    func testCompareValueAndModRevision() throws {
        let revision = try client.put("/k", "old")
        let wrongValue = try client.txn(compare: [.value(key: "/k", equals: "other")],
                                        success: [.put(key: "/k", value: "new", lease: nil)], failure: [])
        XCTAssertFalse(wrongValue.succeeded)
        let rightValue = try client.txn(compare: [.value(key: "/k", equals: "old")],
                                        success: [.put(key: "/k", value: "new", lease: nil), .get(key: "/k"), .get(key: "/missing")],
                                        failure: [])
        XCTAssertTrue(rightValue.succeeded)
        XCTAssertEqual(rightValue.gotKeyValues.map(\.value), ["new"])
        XCTAssertEqual(rightValue.revision, revision + 1)

        let stale = try client.txn(compare: [.modRevision(key: "/k", equals: revision)],
                                   success: [.delete(key: "/k")], failure: [.get(key: "/k")])
        XCTAssertFalse(stale.succeeded)
        XCTAssertEqual(stale.gotKeyValues.first?.modRevision, revision + 1)
        let current = try client.txn(compare: [.modRevision(key: "/k", equals: revision + 1), .absent(key: "/other")],
                                     success: [.delete(key: "/k"), .put(key: "/other", value: "x", lease: nil)], failure: [])
        XCTAssertTrue(current.succeeded)
        XCTAssertNil(try client.get("/k"))
        XCTAssertEqual(try client.get("/other")?.value, "x")
    }

    func testServerErrorsAreOneLine() throws {
        let unknownLease = etcdError { _ = try self.client.put("/k", "v", lease: 12345) }
        XCTAssertEqual(unknownLease?.kind, .server)
        XCTAssertEqual(unknownLease?.description, "etcd at \(server.clientURL): etcdserver: requested lease not found")
        let emptyKey = etcdError { _ = try self.client.put("", "v") }
        XCTAssertEqual(emptyKey?.kind, .server)
        XCTAssertEqual(emptyKey?.message.hasSuffix("etcdserver: key is not provided"), true)
        // The connection stays usable after error answers (chunked, with trailers).
        XCTAssertNil(try client.get("/k"))
    }
}
