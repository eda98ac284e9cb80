#if canImport(Glibc)
import Glibc
#endif
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
    /// Containers whose start died part-way, or that ran with --rm and are gone, as names
    /// (the container runtime's sweep, when this `Swnet` has one: `ContainerRegistry`).
    public var removedContainers: [String] = []
    /// Containers found dead without anyone having recorded it, now marked exited (likewise).
    public var exitedContainers: [String] = []
    /// Interface attachments (DHCP veths, macvlans, moved interfaces) whose namespace is gone
    /// or that a crash left half made.
    public var interfaces: [LinkAttachment] = []
    /// Whether swnet's nftables table had gone missing (a firewall reload) and was rebuilt.
    public var repairedFirewall = false
    /// Fast path map entries and links nothing owned, e.g. "endpoint 10.0.0.5", "link swab12".
    public var fastPathEntries: [String] = []

    public var json: JSON {
        [
            "attachments": .array(attachments.map(\.json)),
            "orphanLeases": .array(orphanLeases.map { .string($0) }),
            "removedInterfaces": .array(removedInterfaces.map { .string($0) }),
            "removedContainers": .array(removedContainers.map { .string($0) }),
            "exitedContainers": .array(exitedContainers.map { .string($0) }),
            "interfaces": .array(interfaces.map(\.json)),
            "repairedFirewall": .bool(repairedFirewall),
            "fastPathEntries": .array(fastPathEntries.map { .string($0) }),
        ]
    }
}

extension Swnet {
    /// Brings state back in line with the kernel. Safe at any time: it holds the state lock,
    /// so every `pending` record it sees belongs to a swnet that died part-way.
    @discardableResult
    public func collectGarbage() throws -> CollectionReport {
        try requireNetworkPrivileges(for: "gc")
        return try store.write { state in
            let netlink = try hostNetlink()
            var report = CollectionReport()
            try Files.removeAbandonedTemporaries(under: location.run)
            try Files.removeAbandonedTemporaries(under: location.lib)
            try containerRegistry?.collectGarbage(in: self, state: state, into: &report)
            for attachment in try state.allAttachments() {
                let hostLink = try netlink.link(named: attachment.hostInterface)
                if attachment.phase == .active && hostLink != nil { continue }
                if hostLink != nil { report.removedInterfaces.append(attachment.hostInterface) }
                report.attachments.append(attachment)
            }
            for attachment in report.attachments {
                try removePublications(namespaceID: attachment.namespaceID, network: attachment.network, in: state)
            }
            try deleteLinks(named: report.removedInterfaces)
            for attachment in report.attachments { try release(attachment, in: state) }
            for lease in try state.orphanLeases() {
                try state.releaseLease(network: lease.network, address: lease.address)
                report.orphanLeases.append("\(lease.network)/\(lease.address)")
            }
            try removePublications(try state.orphanPublications(), in: state)
            try collectInterfaceAttachments(into: &report, in: state)
            report.repairedFirewall = try repairFirewall(in: state)
            try collectFastPathGarbage(into: &report, in: state)
            return report
        }
    }

    /// An interface attachment whose namespace is gone (the path no longer opens it) is
    /// forgotten with what is left of it on the host (a veth's host side, a VLAN sub-interface,
    /// its DHCP client if still alive); a pending one whose namespace lives is undone in there.
    private func collectInterfaceAttachments(into report: inout CollectionReport, in state: borrowing StateTransaction) throws {
        for record in try state.linkAttachments() {
            let namespace = try? NetworkNamespace(path: record.namespacePath)
            let alive = namespace.map { $0.identity == record.namespaceID } ?? false
            if alive && record.phase == .active { continue }
            let container = alive ? namespace.flatMap { try? NetlinkHandle(namespace: $0) } : nil
            try undo(record, container: container, in: state)
            report.interfaces.append(record)
        }
    }
}
