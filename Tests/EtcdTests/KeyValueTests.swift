import Etcd
import Testing

/// Each test gets a fresh etcd (a new suite instance per test); see EtcdServer.
@Suite("Keys, values and transactions against a real etcd")
struct KeyValueTests {
    let server: EtcdServer
    let client: EtcdClient

    init() throws {
        server = try EtcdServer()
        client = try EtcdClient(EtcdConfiguration(endpoints: [server.clientURL]))
    }

    @Test func putGetPrefixAndDelete() throws {
        #expect(try client.get("/swnet/a") == nil)
        let first = try client.put("/swnet/a", "1")
        let second = try client.put("/swnet/b", "zwei ü")
        _ = try client.put("/swnet/b", "")  // an empty value, which etcd leaves out of its answers
        _ = try client.put("/swnetz", "outside the prefix")
        #expect(second > first)

        let a = try #require(try client.get("/swnet/a"))
        #expect(a == EtcdKeyValue(key: "/swnet/a", value: "1", createRevision: first, modRevision: first, version: 1, lease: 0))
        let b = try #require(try client.get("/swnet/b"))
        #expect(b.value == "")
        #expect(b.version == 2)
        #expect(b.createRevision == second)

        let range = try client.getPrefix("/swnet/")
        #expect(range.keyValues.map(\.key) == ["/swnet/a", "/swnet/b"])
        #expect(range.revision == b.modRevision + 1)
        #expect(try client.getPrefix("").keyValues.count == 3)
        let nothing = try client.getPrefix("/nothing/")  // etcd leaves out "kvs" and "count"
        #expect(nothing.keyValues == [])
        #expect(nothing.revision == range.revision)

        #expect(try client.delete("/swnet/a") == 1)
        #expect(try client.delete("/swnet/a") == 0)
        #expect(try client.get("/swnet/a") == nil)
        #expect(try client.getPrefix("/swnet/").keyValues.map(\.key) == ["/swnet/b"])
    }

    @Test func createIfAbsentTransactionFirstWins() throws {
        let create = { (value: String) throws -> EtcdTxnResult in
            try client.txn(compare: [.absent(key: "/lock")],
                           success: [.put(key: "/lock", value: value, lease: nil)],
                           failure: [.get(key: "/lock")])
        }
        let first = try create("first")
        #expect(first.succeeded)
        #expect(first.gotKeyValues == [])

        let second = try create("second")
        #expect(!second.succeeded)  // etcd leaves "succeeded" out when false
        #expect(second.revision == first.revision)
        #expect(second.gotKeyValues.map(\.value) == ["first"])
        #expect(second.gotKeyValues.first?.modRevision == first.revision)
    }

    @Test func transactionsCompareValueAndModRevision() throws {
        let revision = try client.put("/k", "old")
        let wrongValue = try client.txn(compare: [.value(key: "/k", equals: "other")],
                                        success: [.put(key: "/k", value: "new", lease: nil)], failure: [])
        #expect(!wrongValue.succeeded)
        let rightValue = try client.txn(compare: [.value(key: "/k", equals: "old")],
                                        success: [.put(key: "/k", value: "new", lease: nil), .get(key: "/k"), .get(key: "/missing")],
                                        failure: [])
        #expect(rightValue.succeeded)
        #expect(rightValue.gotKeyValues.map(\.value) == ["new"])
        #expect(rightValue.revision == revision + 1)

        let stale = try client.txn(compare: [.modRevision(key: "/k", equals: revision)],
                                   success: [.delete(key: "/k")], failure: [.get(key: "/k")])
        #expect(!stale.succeeded)
        #expect(stale.gotKeyValues.first?.modRevision == revision + 1)
        let current = try client.txn(compare: [.modRevision(key: "/k", equals: revision + 1), .absent(key: "/other")],
                                     success: [.delete(key: "/k"), .put(key: "/other", value: "x", lease: nil)], failure: [])
        #expect(current.succeeded)
        #expect(try client.get("/k") == nil)
        #expect(try client.get("/other")?.value == "x")
    }

    @Test func transactionsCompareThatAPrefixHasNoKeys() throws {
        let empty = try client.txn(compare: [.noKeys(prefix: "/hosts/")], success: [.put(key: "/config", value: "v", lease: nil)], failure: [])
        #expect(empty.succeeded)
        _ = try client.put("/hosts/a", "1")
        _ = try client.put("/hostsX", "outside the prefix")
        let taken = try client.txn(compare: [.noKeys(prefix: "/hosts/")], success: [.delete(key: "/config")], failure: [])
        #expect(!taken.succeeded)
        #expect(try client.get("/config") != nil)
        _ = try client.delete("/hosts/a")
        #expect(try client.txn(compare: [.noKeys(prefix: "/hosts/")], success: [.delete(key: "/config")], failure: []).succeeded)
        #expect(try client.get("/config") == nil)
    }

    @Test func serverErrorsAreOneLineAndLeaveTheConnectionUsable() throws {
        let unknownLease = #expect(throws: EtcdError.self) { _ = try client.put("/k", "v", lease: 12345) }
        #expect(unknownLease?.kind == .server)
        #expect(unknownLease?.description == "etcd at \(server.clientURL): etcdserver: requested lease not found")
        let emptyKey = #expect(throws: EtcdError.self) { _ = try client.put("", "v") }
        #expect(emptyKey?.kind == .server)
        #expect(emptyKey?.message.hasSuffix("etcdserver: key is not provided") == true)
        // The connection stays usable after error answers (chunked, with trailers).
        #expect(try client.get("/k") == nil)
    }
}
