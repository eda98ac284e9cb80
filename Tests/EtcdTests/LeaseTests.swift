import Etcd
import Foundation
import Testing

/// Each test gets a fresh etcd (a new suite instance per test); see EtcdServer.
@Suite("Leases against a real etcd")
struct LeaseTests {
    let server: EtcdServer
    let client: EtcdClient

    init() throws {
        server = try EtcdServer()
        client = try EtcdClient(EtcdConfiguration(endpoints: [server.clientURL]))
    }

    @Test func grantKeepAliveAndRevokeDeletesTheLeasedKeys() throws {
        let lease = try client.grantLease(ttl: 30)
        #expect(lease.ttl == 30)
        #expect(lease.id != 0)
        let time = try #require(try client.timeToLive(lease.id))
        #expect((28...30).contains(time.remaining), "TTL \(time.remaining)")
        #expect(time.granted == 30)
        #expect(try client.keepAlive(lease.id) == 30)

        _ = try client.put("/leased/a", "1", lease: lease.id)
        _ = try client.put("/leased/b", "2", lease: lease.id)
        _ = try client.put("/kept", "3")
        #expect(try client.get("/leased/a")?.lease == lease.id)
        #expect(try client.get("/kept")?.lease == 0)

        try client.revokeLease(lease.id)
        #expect(try client.getPrefix("/leased/").keyValues == [])
        #expect(try client.get("/kept") != nil)
        #expect(try client.timeToLive(lease.id) == nil)
        #expect(try client.keepAlive(lease.id) == 0)
        // Revoking again, or a lease that never existed, is no error.
        try client.revokeLease(lease.id)
        try client.revokeLease(424242)
    }

    @Test func expiredLeaseDeletesItsKeys() throws {
        let lease = try client.grantLease(ttl: 1)
        _ = try client.put("/short", "lived", lease: lease.id)
        // etcd expires leases within about a second of their TTL.
        let deadline = Date().addingTimeInterval(10)
        while try client.get("/short") != nil && Date() < deadline { usleep(100_000) }
        #expect(try client.get("/short") == nil)
        #expect(try client.keepAlive(lease.id) == 0)
    }
}
