#if canImport(Glibc)
import Glibc
#endif
import Etcd
import IPAM
import JSON
import Netlink
import SwnetCore

/// An overlay as etcd and this host see it: `overlay inspect`.
public struct OverlayStatus: Sendable, JSONRepresentable {
    public var configuration: OverlayConfiguration
    public var hosts: [OverlayHost]
    /// Each host's lease, by subnet; nil when the lease is gone.
    public var leaseTimes: [IPNetwork: EtcdLeaseTime]
    /// This host's network when it joined.
    public var local: NetworkDefinition?
    /// What the kernel lacks or has too much of, compared with the registered peers.
    public var differences: [String]

    public var inSync: Bool { local != nil && differences.isEmpty }

    public var json: JSON {
        var localObject: [String: JSON] = ["joined": .bool(local != nil)]
        if let local, let overlay = local.overlay {
            localObject["subnet"] = .string(local.subnet.description)
            localObject["subnets"] = .array(local.subnets.map { .string($0.description) })
            localObject["bridge"] = .string(local.bridge)
            localObject["tunnel"] = .string(overlay.tunnel)
            localObject["underlayIP"] = .string(overlay.underlayIP.description)
            localObject["mtu"] = local.mtu.map { .int(Int64($0)) } ?? .null
            localObject["inSync"] = .bool(inSync)
            localObject["differences"] = .array(differences.map { .string($0) })
        }
        return [
            "name": .string(configuration.name),
            "config": configuration.json,
            "hosts": .array(hosts.map { host in
                guard case .object(var object) = host.json else { return host.json }
                let time = leaseTimes[host.subnet]
                object["ttl"] = .int(time?.granted ?? 0)
                object["expiresIn"] = .int(time?.remaining ?? 0)
                return .object(object)
            }),
            "local": .object(localObject),
        ]
    }
}

/// One line of `overlay ls`.
public struct OverlaySummary: Sendable, JSONRepresentable {
    public var configuration: OverlayConfiguration
    public var hostCount: Int

    public var json: JSON {
        guard case .object(var object) = configuration.json else { return configuration.json }
        object["hosts"] = .int(Int64(hostCount))
        return .object(object)
    }
}

extension Swnet {
    /// Writes the overlay's configuration to etcd once. The same configuration again is
    /// fine (scripts re-run); a different one is an error: hosts may already use it.
    /// Returns false when it existed already.
    @discardableResult
    public func createOverlay(_ configuration: OverlayConfiguration, etcd: EtcdConfiguration) throws -> Bool {
        try configuration.validate()
        let client = try EtcdClient(etcd)
        let keys = OverlayKeys(name: configuration.name)
        let result = try client.txn(compare: [.absent(key: keys.config)],
                                    success: [.put(key: keys.config, value: configuration.json.serialized(), lease: nil)],
                                    failure: [.get(key: keys.config)])
        if result.succeeded { return true }
        let existing = try result.gotKeyValues.first.map { kv throws(SwnetError) in
            try OverlayConfiguration(json: try parseJSON(kv.value, what: "overlay configuration"))
        }
        guard let existing, existing == configuration else {
            throw SwnetError("overlay \(configuration.name) exists with a different configuration (\(existing?.summary ?? "unreadable")); remove it first or use the same options")
        }
        return false
    }

    /// Deletes an overlay's configuration; refused while hosts are registered.
    public func removeOverlay(_ name: String, etcd: EtcdConfiguration) throws {
        let client = try EtcdClient(etcd)
        let keys = OverlayKeys(name: name)
        _ = try overlayConfiguration(name, client: client)
        // Atomically: a host registering meanwhile keeps the configuration.
        let result = try client.txn(compare: [.noKeys(prefix: keys.hosts)], success: [.delete(key: keys.config)], failure: [])
        guard result.succeeded else {
            let hosts = try client.getPrefix(keys.hosts).keyValues.count
            throw SwnetError("overlay \(name) has \(hosts) host\(hosts == 1 ? "" : "s"); run swnet overlay leave \(name) on them first")
        }
    }

    public func listOverlays(etcd: EtcdConfiguration) throws -> [OverlaySummary] {
        let client = try EtcdClient(etcd)
        var configurations: [String: OverlayConfiguration] = [:]
        var hostCounts: [String: Int] = [:]
        for kv in try client.getPrefix(OverlayKeys.root).keyValues {
            let path = kv.key.dropFirst(OverlayKeys.root.count).split(separator: "/", maxSplits: 1)
            guard path.count == 2 else { continue }
            let name = String(path[0])
            if path[1] == "config" {
                configurations[name] = try OverlayConfiguration(json: try parseJSON(kv.value, what: "overlay configuration"))
            } else if path[1].hasPrefix("hosts/") {
                hostCounts[name, default: 0] += 1
            }
        }
        return configurations.keys.sorted().map { OverlaySummary(configuration: configurations[$0]!, hostCount: hostCounts[$0] ?? 0) }
    }

    public func inspectOverlay(_ name: String, etcd: EtcdConfiguration) throws -> OverlayStatus {
        let client = try EtcdClient(etcd)
        let configuration = try overlayConfiguration(name, client: client)
        let hosts = try overlayHosts(name, client: client).hosts
        var times: [IPNetwork: EtcdLeaseTime] = [:]
        for host in hosts { times[host.subnet] = try client.timeToLive(host.lease) }
        let local = try localOverlayNetwork(name)
        var differences: [String] = []
        if let local, let membership = local.overlay {
            differences = try kernelDifferences(local: local, membership: membership, configuration: configuration, hosts: hosts)
        }
        return OverlayStatus(configuration: configuration, hosts: hosts, leaseTimes: times, local: local, differences: differences)
    }

    private func localOverlayNetwork(_ name: String) throws -> NetworkDefinition? {
        try store.read { state in try state.network(named: name).flatMap { $0.overlay == nil ? nil : $0 } }
    }

    /// How this host's kernel differs from what the registered hosts call for.
    private func kernelDifferences(local: NetworkDefinition, membership: OverlayMembership,
                                   configuration: OverlayConfiguration, hosts: [OverlayHost]) throws -> [String] {
        let netlink = try hostNetlink()
        guard let tunnel = try netlink.link(named: membership.tunnel) else { return ["device \(membership.tunnel) is missing"] }
        var differences: [String] = []
        if try netlink.link(named: local.bridge) == nil { differences.append("bridge \(local.bridge) is missing") }
        guard let mine = hosts.first(where: { $0.subnet == local.subnet }) else {
            return differences + ["this host (\(local.subnet)) is not registered in etcd"]
        }
        if mine.subnet6 != local.subnet(.v6) {
            differences.append("registered IPv6 subnet \(mine.subnet6?.description ?? "none") is not this host's \(local.subnet(.v6)?.description ?? "none")")
        }
        if mine.underlayIP != membership.underlayIP {
            differences.append("registered underlay IP \(mine.underlayIP) is not this host's \(membership.underlayIP)")
        }
        if configuration.mode == .vxlan, mine.vtepMAC != tunnel.mac {
            differences.append("registered VTEP MAC \(mine.vtepMAC?.description ?? "none") is not \(membership.tunnel)'s \(tunnel.mac?.description ?? "none")")
        }
        let plane = OverlayDataPlane(mode: configuration.mode, clusterSubnets: configuration.subnets, interfaceIndex: tunnel.index)
        let current = try plane.current(netlink)
        let wanted = plane.desired(for: hosts.filter { $0.subnet != local.subnet })
        differences += wanted.subtracting(current).descriptions.map { "missing \($0)" }
        differences += current.subtracting(wanted).descriptions.map { "stale \($0)" }
        return differences
    }

    /// Leaves an overlay: this host's registration and lease go from etcd (every peer's agent
    /// then drops it), then its bridge, VXLAN device and routes. The state lock is held
    /// throughout, so a running agent sees the network gone when it learns of the deletion
    /// and exits instead of registering again. Unless `force`, containers still attached
    /// and an unreachable etcd stop it before anything changes.
    public func leaveOverlay(_ name: String, etcd: EtcdConfiguration, force: Bool) throws {
        try requireNetworkPrivileges(for: "overlay leave")
        try store.write { state in
            guard let network = try state.network(named: name), let membership = network.overlay else {
                throw SwnetError.notFound("this host has not joined overlay \(name)")
            }
            try checkRemovable(network, force: force, in: state)
            do {
                try deregister(network, membership: membership, client: try EtcdClient(etcd))
            } catch is EtcdError where force {
                // Its lease expires on its own; peers drop it then.
            }
            try removeLocalOverlay(network, membership: membership, in: state)
        }
    }

    private func deregister(_ network: NetworkDefinition, membership: OverlayMembership, client: EtcdClient) throws {
        let key = OverlayKeys(name: network.name).host(network.subnet)
        if let kv = try client.get(key), let registered = registration(kv, keys: OverlayKeys(name: network.name)),
           registered.hostID == (try hostID()) {
            // Only if nobody re-registered the subnet since it was read.
            _ = try client.txn(compare: [.modRevision(key: key, equals: kv.modRevision)], success: [.delete(key: key)], failure: [])
            try client.revokeLease(kv.lease)
        }
        try client.revokeLease(membership.lease)
    }

    /// The network, its links and the overlay's routes.
    func removeLocalOverlay(_ network: NetworkDefinition, membership: OverlayMembership, in state: borrowing StateTransaction) throws {
        let netlink = try hostNetlink()
        switch membership.mode {
        case .vxlan:
            do { try netlink.deleteLink(named: membership.tunnel) } catch where error.isNotFound {}
        case .hostGateway:
            if let underlay = try netlink.link(named: membership.tunnel) {
                try OverlayDataPlane(mode: .hostGateway, clusterSubnets: membership.clusterSubnets, interfaceIndex: underlay.index)
                    .removeAll(netlink)
            }
        }
        try remove([network], in: state)
    }

    package func overlayConfiguration(_ name: String, client: EtcdClient) throws -> OverlayConfiguration {
        try NetworkRules.checkName(name)
        guard let kv = try client.get(OverlayKeys(name: name).config) else {
            throw SwnetError.notFound("no overlay named \(name) in etcd; create it with swnet overlay create")
        }
        return try OverlayConfiguration(json: try parseJSON(kv.value, what: "overlay configuration"))
    }

    /// The registered hosts, and the etcd revision they were read at.
    func overlayHosts(_ name: String, client: EtcdClient) throws -> (hosts: [OverlayHost], revision: Int64) {
        let keys = OverlayKeys(name: name)
        let range = try client.getPrefix(keys.hosts)
        // A damaged or foreign key must not stop the overlay: it is skipped.
        return (range.keyValues.compactMap { registration($0, keys: keys) }, range.revision)
    }

    /// This state root's host id: random, made once, kept with the network definitions.
    func hostID() throws -> String {
        let path = "\(location.lib)/host-id"
        if let id = try Files.readString(path)?.trimmingTrailingNewline, !id.isEmpty { return id }
        let id = RandomID.hex(bytes: 16)
        try Files.makeDirectories(location.lib)
        // Two agents starting at once: the first file wins, both read it back.
        _ = try Files.createExclusive(path, id + "\n")
        return try Files.readString(path)?.trimmingTrailingNewline ?? id
    }
}

func parseJSON(_ text: String, what: String) throws(SwnetError) -> JSON {
    do { return try JSON(parsing: text) } catch { throw SwnetError("\(what) is not valid JSON: \(error)") }
}

extension String {
    var trimmingTrailingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
