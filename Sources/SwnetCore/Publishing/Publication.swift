#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink

/// One published port: HOST_IP:HOST_PORT/PROTO → CONTAINER_ADDRESS:CONTAINER_PORT, both
/// addresses of one family.
public struct Publication: Sendable, Hashable {
    /// The unspecified address (0.0.0.0, ::): every host address of its family.
    public var hostAddress: IPAddress
    public var hostPort: UInt16
    public var portProtocol: PortProtocol
    public var containerAddress: IPAddress
    public var containerPort: UInt16
    public var network: String
    /// The attachment's namespace identity: what detach, stop and rm remove by.
    public var namespaceID: NamespaceIdentity
    public var target: String

    public var family: IPFamily { hostAddress.family }

    /// `0.0.0.0:8080/tcp`, `[::]:8080/tcp`.
    public var hostDescription: String { "\(hostAddress.withPortSeparator):\(hostPort)/\(portProtocol.rawValue)" }
}

extension Publication: JSONRepresentable {
    public var json: JSON {
        [
            "hostAddress": .string(hostAddress.description),
            "hostPort": .int(Int64(hostPort)),
            "protocol": .string(portProtocol.rawValue),
            "containerAddress": .string(containerAddress.description),
            "containerPort": .int(Int64(containerPort)),
            "network": .string(network),
            "namespace": .string(namespaceID.description),
            "target": .string(target),
        ]
    }
}

/// Published ports: the `publications` table, keyed by (protocol, host port, host address;
/// 0.0.0.0 or :: for every address of a family), indexed by namespace. Families are
/// independent, as Docker's sockets are: a port on every address of a family and the same port
/// on one address of that family conflict both ways; 0.0.0.0:8080 and [::]:8080 do not.
extension StateTransaction {
    private static let columns = "host_address, host_port, protocol, container_address, container_port, network, namespace, target"

    /// Who holds the port now, when that conflicts with publishing it on `address`.
    func conflictingPublication(_ portProtocol: PortProtocol, _ port: UInt16, address: IPAddress) throws -> Publication? {
        let every = IPAddress.unspecified(address.family).description
        return try publications("""
            SELECT \(Self.columns) FROM publications WHERE protocol = ?1 AND host_port = ?2
                AND (host_address IN (?3, ?4) OR (?3 = ?4 AND (instr(host_address, ':') > 0) = ?5)) LIMIT 1
            """, .text(portProtocol.rawValue), .integer(Int64(port)), .text(address.description), .text(every),
            .integer(address.family == .v6 ? 1 : 0)).first
    }

    func save(_ publication: Publication) throws {
        let added = try database.run("INSERT OR IGNORE INTO publications (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     .text(publication.hostAddress.description), .integer(Int64(publication.hostPort)),
                                     .text(publication.portProtocol.rawValue), .text(publication.containerAddress.description),
                                     .integer(Int64(publication.containerPort)), .text(publication.network),
                                     .text(publication.namespaceID.description), .text(publication.target))
        if added == 0 { throw SwnetError.portPublished(port: publication.hostDescription, holder: "another target") }
    }

    func remove(_ publication: Publication) throws {
        try database.run("DELETE FROM publications WHERE protocol = ? AND host_port = ? AND host_address = ?",
                         .text(publication.portProtocol.rawValue), .integer(Int64(publication.hostPort)),
                         .text(publication.hostAddress.description))
    }

    func publications() throws -> [Publication] {
        try publications("SELECT \(Self.columns) FROM publications ORDER BY protocol, host_port")
    }

    /// A namespace's publications, on one network or all.
    package func publications(namespaceID: NamespaceIdentity, network: String? = nil) throws -> [Publication] {
        guard let network else {
            return try publications("SELECT \(Self.columns) FROM publications WHERE namespace = ? ORDER BY protocol, host_port",
                                    .text(namespaceID.description))
        }
        return try publications("SELECT \(Self.columns) FROM publications WHERE namespace = ? AND network = ? ORDER BY protocol, host_port",
                                .text(namespaceID.description), .text(network))
    }

    /// What is published on one host port (on any address).
    func publications(_ portProtocol: PortProtocol, hostPort: UInt16) throws -> [Publication] {
        try publications("SELECT \(Self.columns) FROM publications WHERE protocol = ? AND host_port = ?",
                         .text(portProtocol.rawValue), .integer(Int64(hostPort)))
    }

    /// Publications whose namespace is attached to no network (it died, or was detached by a
    /// swnet that crashed before it dropped them).
    func orphanPublications() throws -> [Publication] {
        try publications("""
            SELECT \(Self.columns) FROM publications AS publication
                WHERE NOT EXISTS (SELECT 1 FROM attachments WHERE namespace = publication.namespace)
            """)
    }

    private func publications(_ sql: String, _ values: SQLValue...) throws -> [Publication] {
        var found: [Publication] = []
        try database.query(sql, values) { row in
            guard let portProtocol = PortProtocol(rawValue: row.text(2)), let hostAddress = IPAddress(row.text(0)),
                  let containerAddress = IPAddress(row.text(3)), let namespaceID = NamespaceIdentity(row.text(6))
            else { throw SwnetError.damagedRecord("publication") }
            found.append(Publication(hostAddress: hostAddress,
                                     hostPort: UInt16(clamping: row.integer(1)), portProtocol: portProtocol,
                                     containerAddress: containerAddress, containerPort: UInt16(clamping: row.integer(4)),
                                     network: row.text(5), namespaceID: namespaceID, target: row.text(7)))
        }
        return found
    }
}
