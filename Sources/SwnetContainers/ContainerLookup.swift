import JSON
import Netlink
import SwnetCore

extension Swnet {
    /// A swnet container by name, full id or unique id prefix, as Docker resolves them.
    public func container(matching text: String) throws -> Container {
        guard let container = try containerIfAny(matching: text) else { throw SwnetError.noSuchContainer(text) }
        return container
    }

    func containerIfAny(matching text: String) throws -> Container? {
        try store.read { state in try container(matching: text, in: state) }
    }

    /// By name, then by id prefix: two indexed lookups whatever the number of containers.
    func container(matching text: String, in state: borrowing StateTransaction) throws -> Container? {
        guard !text.isEmpty else { return nil }
        if let container = try state.container(named: text) { return container }
        // Every TARGET that looks like hex (a netns named "c1" does) comes here.
        guard text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        let matches = try state.containers(idPrefix: text)  // at most two: enough to call it ambiguous
        if matches.count > 1 {
            throw SwnetError("container id prefix '\(text)' is ambiguous: \(matches.map { "\($0.shortID) (\($0.name))" }.joined(separator: ", "))")
        }
        return matches.first
    }
}

/// `swnet inspect`: a container, or any other TARGET swnet attached, with its addresses on each
/// network, its other interfaces (DHCP, macvlan and --direct ones belong to no network, so no
/// `network inspect` lists them all) and its published ports, read in one transaction.
public struct ContainerDetails: Sendable, JSONRepresentable {
    /// nil for a TARGET that is no swnet container: a PID, a namespace, a podman container.
    public var container: Container?
    /// The target as records name it ("netns c1"); for a container, "container NAME".
    public var target: String
    public var attachments: [Attachment]
    public var interfaces: [LinkAttachment]
    public var publications: [Publication]

    public var json: JSON {
        var object: [String: JSON] = [:]
        if let container, case .object(let fields) = container.json {
            object = fields
            object["created"] = .string(Timestamp.rfc3339(container.created))
            object["started"] = container.started.map { .string(Timestamp.rfc3339($0)) } ?? .null
            object["finished"] = container.finished.map { .string(Timestamp.rfc3339($0)) } ?? .null
        } else {
            object["target"] = .string(target)
        }
        var networks: [String: JSON] = [:]
        for attachment in attachments {
            networks[attachment.network] = [
                // As docker inspect: the IPv4 fields, and the IPv6 ones beside them.
                "ipAddress": attachment.address(.v4).map { .string($0.address.description) } ?? .null,
                "prefixLength": attachment.address(.v4).map { .int(Int64($0.prefixLength)) } ?? .null,
                "gateway": attachment.gateway(.v4).map { .string($0.description) } ?? .null,
                "ipv6Address": attachment.address(.v6).map { .string($0.address.description) } ?? .null,
                "ipv6PrefixLength": attachment.address(.v6).map { .int(Int64($0.prefixLength)) } ?? .null,
                "ipv6Gateway": attachment.gateway(.v6).map { .string($0.description) } ?? .null,
                "macAddress": attachment.mac.map { .string($0.description) } ?? .null,
                "interface": .string(attachment.containerInterface),
                "hostInterface": .string(attachment.hostInterface),
                "mtu": .int(Int64(attachment.mtu)),
                "dataPath": .string(attachment.dataPath),
            ]
        }
        object["networkSettings"] = [
            "networks": .object(networks),
            // The records attach prints and `network inspect` lists (kind, parent, address, dhcp…).
            "interfaces": .array(interfaces.map(\.json)),
            "ports": .array(publications.map { publication in
                [
                    "hostAddress": .string(publication.hostAddress.description),
                    "hostPort": .int(Int64(publication.hostPort)),
                    "protocol": .string(publication.portProtocol.rawValue),
                    "containerPort": .int(Int64(publication.containerPort)),
                    "network": .string(publication.network),
                ]
            }),
        ]
        return .object(object)
    }
}

extension Swnet {
    /// Each TARGET: a swnet container (by name or id prefix, running or not), else anything
    /// attach takes, resolved the same way.
    public func inspectContainers(_ targets: [String]) throws -> [ContainerDetails] {
        try targets.map { text in
            if let container = try containerIfAny(matching: text) {
                return try store.read { state in
                    // An exited container keeps no addresses, whatever a stale record says.
                    guard let namespaceID = container.namespaceID, container.currentStatus != .exited else {
                        return ContainerDetails(container: container, target: "container \(container.name)",
                                                attachments: [], interfaces: [], publications: [])
                    }
                    return try details(container: container, target: "container \(container.name)", namespaceID: namespaceID, in: state)
                }
            }
            let target = try resolveTarget(text)
            return try store.read { state in try details(container: nil, target: target.label, namespaceID: target.namespaceID, in: state) }
        }
    }

    private func details(container: Container?, target: String, namespaceID: NamespaceIdentity,
                         in state: borrowing StateTransaction) throws -> ContainerDetails {
        ContainerDetails(container: container, target: target, attachments: try state.attachments(namespaceID: namespaceID),
                         interfaces: try state.linkAttachments(namespaceID: namespaceID),
                         publications: try state.publications(namespaceID: namespaceID))
    }
}
