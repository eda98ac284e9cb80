#if canImport(Glibc)
import Glibc
#endif
import CSwnetShims
import Netlink
import NFTables

/// Applying swnet's ruleset (`FirewallRuleset`, Planning/) to the kernel: the nftables handle of
/// the host namespace, the render after every change of networks, the repair after a firewall
/// reload, and the sysctls forwarding needs.
extension Swnet {
    func firewall() throws -> NFTablesHandle {
        if let cachedFirewall { return cachedFirewall }
        let handle = try hostNamespace.map { try NFTablesHandle(namespace: $0) } ?? NFTablesHandle()
        cachedFirewall = handle
        return handle
    }

    /// Replaces swnet's table with one built from the state, in one atomic batch; with no
    /// network left, removes it.
    package func renderFirewall(in state: borrowing StateTransaction) throws {
        let networks = try state.networks()
        let bridges = try managedBridges(of: networks)
        let batch = FirewallRuleset.batch(networks: networks, publications: networks.isEmpty ? [] : try state.publications(),
                                          bridgesPresent: Set(bridges.map(\.link.name)))
        Log.debug("nftables: table inet swnet for \(networks.count) network\(networks.count == 1 ? "" : "s")")
        do { _ = try firewall().apply(batch) } catch { throw SwnetError.during("update nftables table inet swnet", error) }
        if !networks.isEmpty { try enableForwarding(for: networks, bridges: bridges) }
    }

    /// Rebuilds the table from the state: it may be gone (a firewall reload), or hold map
    /// elements of a publish killed before it committed. True when the table was missing.
    @discardableResult
    func repairFirewall(in state: borrowing StateTransaction) throws -> Bool {
        guard try !state.networkNames().isEmpty else { return false }
        let missing = try !firewall().exists(FirewallLayout.table)
        try renderFirewall(in: state)
        return missing
    }

    /// Forwarding on in the host namespace (IPv6 too once a network has an IPv6 subnet: the
    /// namespace then acts as a router, which makes its interfaces ignore router
    /// advertisements unless accept_ra is 2), and route_localnet on each bridge so that the
    /// host's own 127.0.0.1 connections to published ports can be routed to the containers
    /// (for [::1], a route: enableLoopbackReturn).
    private func enableForwarding(for networks: [NetworkDefinition], bridges: [(link: Link, network: NetworkDefinition)]) throws {
        var settings = ["net.ipv4.ip_forward": "/proc/sys/net/ipv4/ip_forward"]
        if networks.contains(where: { $0.subnet(.v6) != nil }) {
            settings["net.ipv6.conf.all.forwarding"] = "/proc/sys/net/ipv6/conf/all/forwarding"
        }
        for (name, path) in settings {
            let result = swnet_write_sysctl_in_netns(hostNamespace?.fd ?? -1, path, "1")
            if result < 0 { throw SystemError("enable \(name)", errno: -result) }
        }
        let netlink = try hostNetlink()
        for (link, network) in bridges { try enableLoopbackReturn(on: link, of: network, netlink: netlink) }
    }

    /// The bridges swnet manages that exist now, looked up once a render: the ruleset binds a
    /// netdev chain to each IPv6 one, and forwarding sets them up for the loopback return.
    private func managedBridges(of networks: [NetworkDefinition]) throws -> [(link: Link, network: NetworkDefinition)] {
        let managed = networks.filter(\.managesBridge)
        guard !managed.isEmpty else { return [] }
        let netlink = try hostNetlink()
        return try managed.compactMap { network in try netlink.link(named: network.bridge).map { ($0, network) } }
    }

    /// What the host's own connections to 127.0.0.1 and [::1] need of a bridge swnet manages:
    /// route_localnet, and with IPv6 the local ::1 route. Set at every render, which follows
    /// whatever makes a bridge (network create, and an attach that remakes one after a reboot).
    func enableLoopbackReturn(on bridge: Link, of network: NetworkDefinition, netlink: NetlinkHandle) throws {
        try netlink.setLink(index: bridge.index, LinkChanges(routeLocalnet: true))
        if network.subnet(.v6) != nil { try addLoopbackRoute(to: bridge, netlink: netlink) }
    }

    /// `ip -6 route replace local ::1 dev BRIDGE table local metric 4294967295-INDEX`: answers
    /// translated back to ::1 on the bridge are delivered. The metric is past every real one, so
    /// the host's own packets to ::1 keep going out through lo's route (metric 0), and one per
    /// bridge: IPv6 keeps one route per destination and metric, so a shared metric would let
    /// each bridge's route replace the last one's.
    private func addLoopbackRoute(to bridge: Link, netlink: NetlinkHandle) throws {
        let route = Route(destination: FirewallLayout.ipv6Loopback, outputInterface: bridge.index, table: FirewallLayout.localRoutes,
                          metric: .max - UInt32(bitPattern: bridge.index), isLocal: true)
        do { try netlink.replaceRoute(route) } catch { throw SwnetError.during("add local ::1 route to \(bridge.name)", error) }
    }
}

