import Etcd
import Foundation
import XCTest

final class LeaseTests: EtcdTestCase {
    func testGrantKeepAliveRevoke() throws {
        let lease = try client.grantLease(ttl: 30)
        XCTAssertEqual(lease.ttl, 30)
        XCTAssertNotEqual(lease.id, 0)
        let remaining = try client.timeToLive(lease.id)
        XCTAssertTrue((28...30).contains(remaining), "TTL \(remaining)")
        XCTAssertEqual(try client.keepAlive(lease.id), 30)

        _ = try client.put("/leased/a", "1", lease: lease.id)
        _ = try client.put("/leased/b", "2", lease: lease.id)
        _ = try client.put("/kept", "3")
        XCTAssertEqual(try client.get("/leased/a")?.lease, lease.id)
        XCTAssertEqual(try client.get("/kept")?.lease, 0)

        try client.revokeLease(lease.id)
        XCTAssertEqual(try client.getPrefix("/leased/").keyValues, [])
        XCTAssertNotNil(try client.get("/kept"))
        XCTAssertEqual(try client.timeToLive(lease.id), -1)
        XCTAssertEqual(try client.keepAlive(lease.id), 0)
        // Revoking again, or a lease that never existed, is no error.
        try client.revokeLease(lease.id)
        try client.revokeLease(424242)
    }

    func testExpiredLeaseDeletesItsKeys() throws {
        let lease = try client.grantLease(ttl: 1)
        _ = try client.put("/short", "lived", lease: lease.id)
        // etcd expires leases within about a second of their TTL.
        let deadline = Date().addingTimeInterval(10)
        while try client.get("/short") != nil && Date() < deadline { usleep(100_000) }
        XCTAssertNil(try client.get("/short"))
        XCTAssertEqual(try client.keepAlive(lease.id), 0)
    }
}
