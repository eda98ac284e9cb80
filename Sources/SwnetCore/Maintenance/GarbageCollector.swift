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
    /// Containers whose start died part-way, or that ran with --rm and are gone, as names.
    public var removedContainers: [String] = []
    /// Containers found dead without anyone having recorded it, now marked exited.
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
        let lock = try store.lock(.exclusive)
        defer { withExtendedLifetime(lock) {} }
        let netlink = try hostNetlink()
        var report = CollectionReport()
        try Files.removeAbandonedTemporaries(under: location.run)
        try Files.removeAbandonedTemporaries(under: location.lib)
        try collectContainers(into: &report)
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
        for attachment in report.attachments {
            try removePublicationsLocked(namespaceID: attachment.namespaceID, network: attachment.network)
        }
        try deleteLinks(named: report.removedInterfaces)
        for attachment in report.attachments { try release(attachment) }
        let attached = Set(try store.networkNames().flatMap { try store.attachments(network: $0).map(\.namespaceID) })
        try removePublicationsLocked(try store.publications().filter { !attached.contains($0.namespaceID) })
        try collectInterfaceAttachments(into: &report)
        report.repairedFirewall = try repairFirewall()
        try collectFastPathGarbage(into: &report)
        return report
    }

    /// A start that died part-way (owner gone before the container ran) is undone; a container
    /// whose init died unrecorded is marked exited, or removed with --rm; an exited container
    /// keeps no addresses or interfaces.
    private func collectContainers(into report: inout CollectionReport) throws {
        for name in try store.orphanContainerNames() {
            try store.releaseContainerName(name)
            report.removedContainers.append(name)
        }
        for var container in try store.containers() {
            switch container.status {
            case .created where !container.ownerIsAlive:
                container.killInit()
                try releaseNetworksLocked(of: container)
                try store.removeContainer(container)
                report.removedContainers.append(container.name)
            case .running where !container.isRunning:
                try releaseNetworksLocked(of: container)
                if container.autoRemove {
                    try store.removeContainer(container)
                    report.removedContainers.append(container.name)
                } else {
                    container.status = .exited
                    container.finished = Int64(time(nil))
                    try store.save(container)
                    report.exitedContainers.append(container.name)
                }
            case .exited:
                try releaseNetworksLocked(of: container)
            default:
                continue
            }
        }
    }

    /// An interface attachment whose namespace is gone (the path no longer opens it) is
    /// forgotten with what is left of it on the host (a veth's host side, a VLAN sub-interface,
    /// its DHCP client if still alive); a pending one whose namespace lives is undone in there.
    private func collectInterfaceAttachments(into report: inout CollectionReport) throws {
        for record in try store.linkAttachments() {
            let namespace = try? NetworkNamespace(path: record.namespacePath)
            let alive = namespace.map { "\($0.identity)" == record.namespaceID } ?? false
            if alive && record.phase == .active { continue }
            let container = alive ? namespace.flatMap { try? NetlinkHandle(namespace: $0) } : nil
            try undo(record, container: container)
            report.interfaces.append(record)
        }
    }
}
