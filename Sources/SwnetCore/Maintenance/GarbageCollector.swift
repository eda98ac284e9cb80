import IPAM
import JSON
import Netlink

/// What `swnet gc` cleaned.
public struct CollectionReport: Sendable, JSONRepresentable {
    /// Attachments whose namespace is gone, or that a crashed swnet left half made.
    public var attachments: [Attachment] = []
    /// Leases with no attachment behind them, as "network/address".
    public var orphanLeases: [String] = []
    public var removedInterfaces: [String] = []

    public var json: JSON {
        [
            "attachments": .array(attachments.map(\.json)),
            "orphanLeases": .array(orphanLeases.map { .string($0) }),
            "removedInterfaces": .array(removedInterfaces.map { .string($0) }),
        ]
    }
}

extension Swnet {
    /// Brings state back in line with the kernel. Safe at any time: it holds the state lock,
    /// so every `pending` record it sees belongs to a swnet that died part-way.
    @discardableResult
    public func collectGarbage() throws -> CollectionReport {
        try requireNetworkPrivileges(for: "gc")
        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        let netlink = try hostNetlink()
        var report = CollectionReport()
        for network in try store.networkNames() {
            for attachment in try store.attachments(network: network) {
                let hostLink = try netlink.link(named: attachment.hostInterface)
                if attachment.phase == .active && hostLink != nil { continue }
                if hostLink != nil { report.removedInterfaces.append(attachment.hostInterface) }
                report.attachments.append(attachment)
            }
            let owners = Set(try store.attachments(network: network).map(\.namespaceID))
            for lease in try store.leases(network: network) where !owners.contains(lease.owner) {
                try store.releaseLease(network: network, address: lease.address)
                report.orphanLeases.append("\(network)/\(lease.address)")
            }
        }
        try deleteLinks(named: report.removedInterfaces)
        for attachment in report.attachments { try release(attachment) }
        return report
    }
}
