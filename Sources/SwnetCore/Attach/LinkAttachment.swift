import IPAM
import JSON
import Netlink

/// How a container joins a host interface that is not a bridge (pipework's physical NIC case).
public enum HostInterfaceMode: Sendable, Equatable {
    /// A macvlan child of the interface goes into the container (bridge mode by default).
    case macvlan(MacvlanMode)
    /// `--direct`: the interface itself moves into the container; detach moves it back.
    case direct
}

/// The record of a pipework-style attach that has no swnet address lease behind it: a DHCP
/// client's veth on a bridge, a macvlan child or a moved host interface. Written before the
/// kernel is touched (`pending`), like `Attachment`, so gc and detach can always undo it.
public struct LinkAttachment: Sendable, Equatable {
    public enum Kind: String, Sendable { case veth, macvlan, direct }

    public var kind: Kind
    /// NETWORK as it resolved: the bridge (veth), the host interface (macvlan, direct).
    public var parent: String
    /// The swnet network NETWORK named, when it did (a DHCP attach onto a swnet network's bridge).
    public var network: String?
    public var namespaceID: NamespaceIdentity
    public var target: String
    public var namespacePath: String
    public var containerInterface: String
    /// The veth's host side; a VLAN sub-interface swnet made for a macvlan; nil otherwise.
    public var hostInterface: String?
    public var vlan: UInt16?
    /// Static IP/LEN (nil with DHCP).
    public var address: InterfaceAddress?
    public var gateway: IPAddress?
    public var dhcp: Bool
    /// The DHCP client's supervisor (the process group of the client), with its start time so a
    /// reused PID is never signalled.
    public var clientPID: Int32?
    public var clientStartTime: UInt64?
    public var mac: MACAddress?
    public var phase: Attachment.Phase
    public var created: Int64

    /// Names its DHCP client's files: one record per namespace and container interface.
    var key: String { "\(namespaceID).\(containerInterface)" }

    /// The address as messages and tables show it: "10.0.0.5/24 (dhcp)", or "-".
    public var addressSummary: String {
        address.map { "\($0)\(dhcp ? " (dhcp)" : "")" } ?? "-"
    }
}

extension LinkAttachment: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "kind": .string(kind.rawValue), "parent": .string(parent), "namespace": .string(namespaceID.description),
            "target": .string(target), "namespacePath": .string(namespacePath),
            "containerInterface": .string(containerInterface), "dhcp": .bool(dhcp),
            "phase": .string(phase.rawValue), "created": .int(created),
        ]
        object["network"] = network.map { .string($0) } ?? .null
        object["hostInterface"] = hostInterface.map { .string($0) } ?? .null
        object["vlan"] = vlan.map { .int(Int64($0)) } ?? .null
        object["address"] = address.map { .string($0.description) } ?? .null
        object["gateway"] = gateway.map { .string($0.description) } ?? .null
        object["clientPID"] = clientPID.map { .int(Int64($0)) } ?? .null
        object["clientStartTime"] = clientStartTime.map { .string(String($0)) } ?? .null
        object["mac"] = mac.map { .string($0.description) } ?? .null
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let kind = json["kind"]?.string.flatMap(Kind.init(rawValue:)),
              let parent = json["parent"]?.string,
              let namespaceID = json["namespace"]?.string.flatMap(NamespaceIdentity.init),
              let containerInterface = json["containerInterface"]?.string,
              let phase = json["phase"]?.string.flatMap(Attachment.Phase.init(rawValue:))
        else { throw SwnetError("interface attachment record is damaged") }
        self.kind = kind
        self.parent = parent
        self.namespaceID = namespaceID
        self.containerInterface = containerInterface
        self.phase = phase
        network = json["network"]?.string
        target = json["target"]?.string ?? namespaceID.description
        namespacePath = json["namespacePath"]?.string ?? ""
        hostInterface = json["hostInterface"]?.string
        vlan = json["vlan"]?.int.map { UInt16(clamping: $0) }
        address = json["address"]?.string.flatMap(InterfaceAddress.init)
        gateway = json["gateway"]?.string.flatMap(IPAddress.init)
        dhcp = json["dhcp"]?.bool ?? false
        clientPID = json["clientPID"]?.int.map { Int32(clamping: $0) }
        clientStartTime = json["clientStartTime"]?.string.flatMap { UInt64($0) }
        mac = json["mac"]?.string.flatMap { MACAddress($0) }
        created = json["created"]?.int ?? 0
    }
}

/// Interface attachments: the `link_attachments` table, keyed by namespace and container
/// interface, indexed by network.
extension StateTransaction {
    func linkAttachments() throws -> [LinkAttachment] {
        try linkAttachments("SELECT record FROM link_attachments ORDER BY namespace, interface")
    }

    package func linkAttachments(namespaceID: NamespaceIdentity) throws -> [LinkAttachment] {
        try linkAttachments("SELECT record FROM link_attachments WHERE namespace = ? ORDER BY interface", .text(namespaceID.description))
    }

    /// Those on a swnet network's bridge (DHCP veths).
    func linkAttachments(network: String) throws -> [LinkAttachment] {
        try linkAttachments("SELECT record FROM link_attachments WHERE network = ?", .text(network))
    }

    /// Whether another record uses `hostInterface` (a VLAN sub-interface several macvlans share).
    func linkAttachmentUses(hostInterface: String, except record: LinkAttachment) throws -> Bool {
        var used = false
        try database.query("SELECT 1 FROM link_attachments WHERE host_interface = ? AND NOT (namespace = ? AND interface = ?) LIMIT 1",
                           .text(hostInterface), .text(record.namespaceID.description), .text(record.containerInterface)) { _ in used = true }
        return used
    }

    private func linkAttachments(_ sql: String, _ values: SQLValue...) throws -> [LinkAttachment] {
        var found: [LinkAttachment] = []
        try database.query(sql, values) { found.append(try LinkAttachment(json: JSON(parsing: $0.text(0)))) }
        return found
    }

    func save(_ attachment: LinkAttachment) throws {
        try database.run("""
            INSERT OR REPLACE INTO link_attachments (namespace, interface, network, host_interface, record) VALUES (?, ?, ?, ?, ?)
            """, .text(attachment.namespaceID.description), .text(attachment.containerInterface), SQLValue(attachment.network),
            SQLValue(attachment.hostInterface), .text(attachment.json.serialized()))
    }

    package func remove(_ attachment: LinkAttachment) throws {
        try database.run("DELETE FROM link_attachments WHERE namespace = ? AND interface = ?",
                         .text(attachment.namespaceID.description), .text(attachment.containerInterface))
    }
}
