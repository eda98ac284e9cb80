#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink

/// Reads and writes of every kind of record. Each lookup a command makes goes through a
/// primary key or an index (by network, namespace, address, port, container name or id
/// prefix): its cost does not grow with the number of records.
extension StateTransaction {
    // MARK: Networks (lib.networks)

    func networkNames() throws -> [String] {
        var names: [String] = []
        try database.query("SELECT name FROM lib.networks ORDER BY name") { names.append($0.text(0)) }
        return names
    }

    package func networks() throws -> [NetworkDefinition] {
        try networks("SELECT record FROM lib.networks ORDER BY name")
    }

    package func network(named name: String) throws -> NetworkDefinition? {
        try networks("SELECT record FROM lib.networks WHERE name = ?", .text(name)).first
    }

    func network(bridge: String) throws -> NetworkDefinition? {
        try networks("SELECT record FROM lib.networks WHERE bridge = ?", .text(bridge)).first
    }

    /// A network by name, else by the name of its bridge.
    package func network(namedOrBridge name: String) throws -> NetworkDefinition? {
        try network(named: name) ?? network(bridge: name)
    }

    private func networks(_ sql: String, _ values: SQLValue...) throws -> [NetworkDefinition] {
        var found: [NetworkDefinition] = []
        try database.query(sql, values) { found.append(try NetworkDefinition(json: JSON(parsing: $0.text(0)))) }
        return found
    }

    package func save(_ network: NetworkDefinition) throws {
        try database.run("INSERT OR REPLACE INTO lib.networks (name, bridge, record) VALUES (?, ?, ?)",
                         .text(network.name), .text(network.bridge), .text(network.json.serialized()))
    }

    /// The definition and all runtime state of the network.
    func removeNetwork(named name: String) throws {
        for table in ["attachments", "leases", "cursors", "publications", "released"] {
            try database.run("DELETE FROM \(table) WHERE network = ?", .text(name))
        }
        try database.run("DELETE FROM lib.networks WHERE name = ?", .text(name))
    }

    // MARK: Attachments

    func attachment(network: String, namespaceID: NamespaceIdentity) throws -> Attachment? {
        try attachments("SELECT record FROM attachments WHERE network = ? AND namespace = ?", .text(network), .text(namespaceID.description)).first
    }

    func attachments(network: String) throws -> [Attachment] {
        try attachments("SELECT record FROM attachments WHERE network = ?", .text(network))
    }

    /// The namespace's attachments on every network, by network name.
    package func attachments(namespaceID: NamespaceIdentity) throws -> [Attachment] {
        try attachments("SELECT record FROM attachments WHERE namespace = ? ORDER BY network", .text(namespaceID.description))
    }

    /// A CNI container's attachments on a network (one per interface).
    func attachments(network: String, cniContainerID: String) throws -> [Attachment] {
        try attachments("SELECT record FROM attachments WHERE network = ? AND cni_container = ?", .text(network), .text(cniContainerID))
    }

    /// The network's attachments that a CNI runtime made.
    func cniAttachments(network: String) throws -> [Attachment] {
        try attachments("SELECT record FROM attachments WHERE network = ? AND cni_container IS NOT NULL", .text(network))
    }

    func allAttachments() throws -> [Attachment] {
        try attachments("SELECT record FROM attachments ORDER BY network, namespace")
    }

    private func attachments(_ sql: String, _ values: SQLValue...) throws -> [Attachment] {
        var found: [Attachment] = []
        try database.query(sql, values) { found.append(try Attachment(json: JSON(parsing: $0.text(0)))) }
        return found
    }

    package func attachmentCount(network: String) throws -> Int {
        var count = 0
        try database.query("SELECT count(*) FROM attachments WHERE network = ?", .text(network)) { count = Int($0.integer(0)) }
        return count
    }

    func save(_ attachment: Attachment) throws {
        try database.run("INSERT OR REPLACE INTO attachments (network, namespace, cni_container, record) VALUES (?, ?, ?, ?)",
                         .text(attachment.network), .text(attachment.namespaceID.description), SQLValue(attachment.cni?.containerID),
                         .text(attachment.json.serialized()))
    }

    func removeAttachment(network: String, namespaceID: NamespaceIdentity) throws {
        try database.run("DELETE FROM attachments WHERE network = ? AND namespace = ?", .text(network), .text(namespaceID.description))
    }

    // MARK: Leases

    /// Claims `address` for `owner`; false when somebody holds it already.
    func claimLease(network: String, address: IPAddress, owner: NamespaceIdentity) throws -> Bool {
        try database.run("INSERT OR IGNORE INTO leases (network, address, owner) VALUES (?, ?, ?)",
                         .text(network), .text(address.description), .text(owner.description)) == 1
    }

    /// Leases of a network by family (an IPv6 address has a ':').
    func leaseCounts(network: String) throws -> [IPFamily: Int] {
        var counts: [IPFamily: Int] = [:]
        try database.query("SELECT instr(address, ':') > 0, count(*) FROM leases WHERE network = ? GROUP BY 1", .text(network)) {
            counts[$0.integer(0) == 1 ? .v6 : .v4] = Int($0.integer(1))
        }
        return counts
    }

    /// The namespace that holds the address.
    func leaseOwner(network: String, address: IPAddress) throws -> NamespaceIdentity? {
        var owner: NamespaceIdentity?
        try database.query("SELECT owner FROM leases WHERE network = ? AND address = ?", .text(network), .text(address.description)) {
            guard let identity = NamespaceIdentity($0.text(0)) else { throw SwnetError.damagedRecord("lease") }
            owner = identity
        }
        return owner
    }

    /// Frees the address, and remembers it was in use: neighbours may still map it to the
    /// old holder's MAC, so its next holder announces itself.
    func releaseLease(network: String, address: IPAddress) throws {
        try database.run("DELETE FROM leases WHERE network = ? AND address = ?", .text(network), .text(address.description))
        try database.run("INSERT OR IGNORE INTO released (network, address) VALUES (?, ?)", .text(network), .text(address.description))
    }

    /// Whether the address had a holder before (since the boot), forgetting it: a new holder
    /// calls this once, when it announces the address.
    func takeReleased(network: String, address: IPAddress) throws -> Bool {
        try database.run("DELETE FROM released WHERE network = ? AND address = ?", .text(network), .text(address.description)) == 1
    }

    /// Leases whose owner has no attachment on the lease's network.
    func orphanLeases() throws -> [(network: String, address: IPAddress)] {
        var found: [(String, IPAddress)] = []
        try database.query("""
            SELECT network, address FROM leases AS lease WHERE NOT EXISTS
                (SELECT 1 FROM attachments WHERE network = lease.network AND namespace = lease.owner)
            """) { row in
            if let address = IPAddress(row.text(1)) { found.append((row.text(0), address)) }
        }
        return found
    }

    /// The last address of the family handed out automatically: allocation resumes after it,
    /// so the next free address is normally found on the first try instead of by scanning all
    /// leases (a /64 could never be scanned).
    func allocationCursor(network: String, family: IPFamily) throws -> IPAddress? {
        var cursor: IPAddress?
        try database.query("SELECT address FROM cursors WHERE network = ? AND family = ?",
                           .text(network), .integer(family.number)) { cursor = IPAddress($0.text(0)) }
        return cursor
    }

    func setAllocationCursor(network: String, _ address: IPAddress) throws {
        try database.run("INSERT OR REPLACE INTO cursors (network, family, address) VALUES (?, ?, ?)",
                         .text(network), .integer(address.family.number), .text(address.description))
    }
}

extension IPFamily {
    /// 4 or 6, as the state's tables store it.
    var number: Int64 { self == .v4 ? 4 : 6 }
}
