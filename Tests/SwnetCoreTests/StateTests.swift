import Foundation
import IPAM
import Netlink
import Testing
@testable import SwnetCore

@Suite("State: errors as cases, transactions, indexed lookups", .enabled(if: hasNetAdmin, "needs root (CAP_NET_ADMIN) to create namespaces"))
struct StateTests {
    @Test func userErrorsAreCasesWithOneLineMessages() throws {
        let sandbox = try Sandbox()
        let swnet = sandbox.swnet
        try swnet.createNetwork(NetworkRequest(name: "s1", subnet: IPNetwork("10.11.0.0/24")!))
        let c1 = try sandbox.container()
        try swnet.attach(AttachRequest(target: c1.path, network: "s1", address: InterfaceAddress("10.11.0.5/24")))
        let c2 = try sandbox.container()

        var errors: [SwnetError] = []
        func expectError(_ expected: SwnetError, _ body: () throws -> Void) {
            let error = #expect(throws: SwnetError.self) { try body() }
            #expect(error == expected)
            if let error { errors.append(error) }
        }
        expectError(.addressInUse(address: "10.11.0.5", network: "s1")) {
            try swnet.attach(AttachRequest(target: c2.path, network: "s1", address: InterfaceAddress("10.11.0.5/24")))
        }
        expectError(.networkExists("s1")) { try swnet.createNetwork(NetworkRequest(name: "s1", subnet: IPNetwork("10.12.0.0/24")!)) }
        expectError(.subnetOverlaps(subnet: "10.11.0.0/16", network: "s1", networkSubnet: "10.11.0.0/24")) {
            try swnet.createNetwork(NetworkRequest(name: "s2", subnet: IPNetwork("10.11.0.0/16")!))
        }
        expectError(.noSuchNetwork("nope")) { _ = try swnet.inspectNetwork("nope") }
        expectError(.networkInUse(network: "s1", attachments: 1)) { try swnet.removeNetworks(["s1"], force: false) }
        expectError(.noSuchContainer("nope")) { _ = try swnet.resolveTarget("container:nope") }

        let twice = #expect(throws: SwnetError.self) { try swnet.attach(AttachRequest(target: c1.path, network: "s1")) }
        guard case .alreadyAttached(_, "s1", "eth0", "10.11.0.5/24")? = twice else {
            Issue.record("attaching twice gave \(String(describing: twice))")
            return
        }
        let notAttached = #expect(throws: SwnetError.self) { try swnet.detach(DetachRequest(target: c2.path)) }
        guard case .notAttached(_, "any network")? = notAttached else {
            Issue.record("detaching what is not attached gave \(String(describing: notAttached))")
            return
        }
        try swnet.publish(c1.path, specs: [PortSpec(parsing: "8080:80")])
        let taken = #expect(throws: SwnetError.self) { try swnet.publish(c1.path, specs: [PortSpec(parsing: "8080:80")]) }
        guard case .portPublished("0.0.0.0:8080/tcp", _)? = taken else {
            Issue.record("publishing a taken port gave \(String(describing: taken))")
            return
        }
        let badMTU = #expect(throws: SwnetError.self) {
            try swnet.createNetwork(NetworkRequest(name: "s3", subnet: IPNetwork("10.16.0.0/24")!, mtu: 9))
        }
        guard case .invalid(let line)? = badMTU, line.hasPrefix("invalid MTU 9") else {
            Issue.record("an MTU of 9 gave \(String(describing: badMTU))")
            return
        }
        for error in errors + [twice, notAttached, taken, badMTU].compactMap({ $0 }) {
            #expect(!error.message.contains("\n"))
        }
        #expect(SwnetError("plain text") == .message("plain text"))
    }

    @Test func aFailedTransactionChangesNothing() throws {
        let sandbox = try Sandbox()
        let network = NetworkDefinition(name: "t1", subnet: IPNetwork("10.13.0.0/24")!, gateway: nil, bridge: "t1",
                                        mtu: nil, managesBridge: true, created: 0)
        #expect(throws: SwnetError.message("stop")) {
            try sandbox.swnet.store.write { state in
                try state.save(network)
                _ = try state.claimLease(network: "t1", address: IPAddress("10.13.0.2")!, owner: NamespaceIdentity(device: 1, inode: 2))
                throw SwnetError("stop")
            }
        }
        let (saved, owner) = try sandbox.swnet.store.read { state in
            (try state.network(named: "t1"), try state.leaseOwner(network: "t1", address: IPAddress("10.13.0.2")!))
        }
        #expect(saved == nil && owner == nil)
    }

    /// What a command committed early (pending records, for gc after a crash) is taken back
    /// by its undo step when the command fails afterwards, and kept when it succeeds.
    @Test func committedPendingWorkIsUndoneOnFailure() throws {
        let sandbox = try Sandbox()
        let store = sandbox.swnet.store
        func network(_ name: String) -> NetworkDefinition {
            NetworkDefinition(name: name, subnet: IPNetwork("10.14.0.0/24")!, gateway: nil, bridge: name,
                              mtu: nil, managesBridge: true, created: 0)
        }
        #expect(throws: SwnetError.self) {
            try store.write { state in
                try state.save(network("failed"))
                try state.commitPending { state in try state.removeNetwork(named: "failed") }
                try state.save(network("later"))
                throw SwnetError("stop")
            }
        }
        try store.write { state in
            try state.save(network("kept"))
            try state.commitPending { state in try state.removeNetwork(named: "kept") }
        }
        #expect(try store.read { state in try state.networkNames() } == ["kept"])
    }

    /// Every lookup a command makes by namespace, port, address, name or id prefix is a
    /// search of a key or index: only the listings (ls, ps, gc) scan a table.
    @Test func hotLookupsUseIndexes() throws {
        let sandbox = try Sandbox()
        let swnet = sandbox.swnet
        try swnet.createNetwork(NetworkRequest(name: "i1", subnet: IPNetwork("10.15.0.0/24")!))
        let c1 = try sandbox.container()
        try swnet.attach(AttachRequest(target: c1.path, network: "i1"))
        try swnet.publish(c1.path, specs: [PortSpec(parsing: "8080:80"), PortSpec(parsing: "127.0.0.1:9000:90/udp")])
        try swnet.unpublish(c1.path, specs: [PortSpec(parsing: "8080:80")])
        _ = try swnet.publications(of: c1.path)
        try swnet.store.read { state in
            _ = try state.containerRecord(named: "abc")
            _ = try state.containerRecords(idPrefix: "abc")
            _ = try state.containerRecord(id: "abc")
        }
        try swnet.detach(DetachRequest(target: c1.path, network: "i1"))
        try swnet.removeNetworks(["i1"], force: true)
        try swnet.collectGarbage()

        let listings = ["ORDER BY name", "ORDER BY network, namespace", "FROM publications ORDER BY", "NOT EXISTS"]
        var scans: [String] = []
        try swnet.store.read { state in
            for sql in state.database.statements.keys where !sql.hasPrefix("INSERT") && !sql.hasPrefix("PRAGMA") && !sql.hasPrefix("ATTACH") {
                if listings.contains(where: { (sql + "\u{0}").contains($0) }) { continue }
                try state.database.query("EXPLAIN QUERY PLAN " + sql) { row in
                    let detail = row.text(3)
                    if detail.hasPrefix("SCAN") && !detail.contains("INDEX") { scans.append("\(sql): \(detail)") }
                }
            }
        }
        #expect(scans == [])
    }
}
