#if canImport(Glibc)
import Glibc
#endif
import CSwnetShims
import IPAM
import Netlink
import NFTables

/// swnet's nftables rules: one table of its own, `inet swnet`, that it rebuilds from its state
/// whenever networks change (or the table went missing, e.g. after `nft flush ruleset`), and
/// edits one map element at a time when a port is published or unpublished. It never touches
/// anyone else's table, and removes its own when the last network is gone.
///
/// Published ports go through two maps, so a new connection costs one lookup whatever the
/// number of ports (CNI portmap and netavark add one linear rule per port):
/// `publish_address`: ipv4_addr . inet_proto . inet_service → ipv4_addr . inet_service (one host address)
/// `publish_any`:     inet_proto . inet_service → ipv4_addr . inet_service (every local address)
enum FirewallLayout {
    static let table = Table(family: .inet, name: "swnet")
    static let publishOnAddress = "publish_address"
    static let publishOnAny = "publish_any"
    static let bridges = "bridges"

    static let addressKey: [Field] = [.ipv4Destination, .l4Protocol, .transportDestinationPort]
    static let anyKey: [Field] = [.l4Protocol, .transportDestinationPort]
    static let target: [DataType] = [.ipv4Address, .inetService]
    static let loopback = IPNetwork("127.0.0.0/8")!
    /// RFC 4193 unique local addresses: not routed on the Internet, so masqueraded on the way out.
    static let uniqueLocal = IPNetwork("fc00::/7")!
}

extension Swnet {
    func firewall() throws -> NFTablesHandle {
        if let cachedFirewall { return cachedFirewall }
        let handle = try hostNamespace.map { try NFTablesHandle(namespace: $0) } ?? NFTablesHandle()
        cachedFirewall = handle
        return handle
    }

    /// Replaces swnet's table with one built from the state, in one atomic batch; with no
    /// network left, removes it.
    func renderFirewall(in state: borrowing StateTransaction) throws {
        let networks = try state.networks()
        var batch = NFTablesBatch()
        batch.deleteIfExists(FirewallLayout.table)
        if !networks.isEmpty {
            addRuleset(for: networks, publications: try state.publications(), to: &batch)
        }
        Log.debug("nftables: table inet swnet for \(networks.count) network\(networks.count == 1 ? "" : "s")")
        do { _ = try firewall().apply(batch) } catch { throw SwnetError.during("update nftables table inet swnet", error) }
        if !networks.isEmpty { try enableForwarding(for: networks) }
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

    private func addRuleset(for networks: [NetworkDefinition], publications: [Publication], to batch: inout NFTablesBatch) {
        let table = FirewallLayout.table
        batch.add(table)
        batch.add(SetSpec(table: table, name: FirewallLayout.publishOnAddress, key: FirewallLayout.addressKey.map(\.dataType),
                          value: .data(FirewallLayout.target)))
        batch.add(SetSpec(table: table, name: FirewallLayout.publishOnAny, key: FirewallLayout.anyKey.map(\.dataType),
                          value: .data(FirewallLayout.target)))
        batch.add(SetSpec(table: table, name: FirewallLayout.bridges, key: [.interfaceName]))
        batch.addElements(networks.map { SetElement([.interfaceName($0.bridge)]) }, to: FirewallLayout.bridges, in: table)

        // Loopback addresses arriving from anywhere but lo are dropped before NAT: with
        // route_localnet on the bridges, 127.0.0.1-published ports must stay local (moby#45610).
        batch.add(Chain(table: table, name: "raw-prerouting", base: BaseChain(type: .filter, hook: .prerouting, priority: -300)))
        batch.add(Rule(table: table, chain: "raw-prerouting",
                       matching: [Match.inboundInterface("lo").negated, Match.destination(in: FirewallLayout.loopback)],
                       then: [.drop]))

        for (name, hook) in [("prerouting", Hook.prerouting), ("output", Hook.output)] {
            batch.add(Chain(table: table, name: name, base: BaseChain(type: .nat, hook: hook, priority: Priority.dstnat)))
            batch.add(Rule(table: table, chain: name, matching: [],
                           then: [.dnatThroughMap(FirewallLayout.publishOnAddress, key: FirewallLayout.addressKey)]))
            batch.add(Rule(table: table, chain: name, matching: [Match.fibDestinationType(.local)],
                           then: [.dnatThroughMap(FirewallLayout.publishOnAny, key: FirewallLayout.anyKey)]))
        }

        batch.add(Chain(table: table, name: "postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: Priority.srcnat)))
        // The host reaching a published port through 127.0.0.1: the container must answer a real address.
        batch.add(Rule(table: table, chain: "postrouting",
                       matching: [Match.source(in: FirewallLayout.loopback), Match.conntrackStatus(.destinationNAT)],
                       then: [.masquerade]))
        batch.add(Chain(table: table, name: "forward", base: BaseChain(type: .filter, hook: .forward, priority: Priority.filter, policy: .accept)))
        for network in networks {
            let bridge = network.bridge
            // Hairpin: a container reaching a port published by a neighbour through the host's address.
            batch.add(Rule(table: table, chain: "postrouting",
                           matching: [Match.inboundInterface(bridge), Match.outboundInterface(bridge), Match.conntrackStatus(.destinationNAT)],
                           then: [.masquerade]))
            if network.masquerade && !network.isInternal {
                // Containers of an overlay see each other's real addresses. A global IPv6
                // subnet is routable as it is: only unique local ones are masqueraded.
                let withinOverlay = network.overlay.map { [Match.destination(in: $0.clusterSubnet).negated] } ?? []
                for subnet in network.subnets where subnet.family == .v4 || FirewallLayout.uniqueLocal.contains(subnet) {
                    batch.add(Rule(table: table, chain: "postrouting",
                                   matching: [Match.source(in: subnet), Match.outboundInterface(bridge).negated] + withinOverlay,
                                   then: [.masquerade]))
                }
            }
            if let overlay = network.overlay {
                // The bridge and the tunnel to the other hosts talk, whatever the isolation below says.
                batch.add(Rule(table: table, chain: "forward",
                               matching: [Match.inboundInterface(bridge), Match.outboundInterface(overlay.tunnel),
                                          Match.destination(in: overlay.clusterSubnet)],
                               then: [.accept]))
                batch.add(Rule(table: table, chain: "forward",
                               matching: [Match.inboundInterface(overlay.tunnel), Match.outboundInterface(bridge),
                                          Match.source(in: overlay.clusterSubnet)],
                               then: [.accept]))
            }
            if network.isInternal {
                batch.add(Rule(table: table, chain: "forward", matching: [Match.inboundInterface(bridge), Match.outboundInterface(bridge).negated], then: [.drop]))
                batch.add(Rule(table: table, chain: "forward", matching: [Match.outboundInterface(bridge), Match.inboundInterface(bridge).negated], then: [.drop]))
            } else {
                // Networks are isolated from each other; the way out stays open.
                batch.add(Rule(table: table, chain: "forward",
                               matching: [Match.inboundInterface(bridge), Match.outboundInterface(bridge).negated,
                                          Match.inSet(FirewallLayout.bridges, key: [.outboundInterfaceName])],
                               then: [.drop]))
            }
        }
        addElements(for: publications, to: &batch)
    }

    func addElements(for publications: [Publication], to batch: inout NFTablesBatch) {
        let (onAddress, onAny) = elements(for: publications)
        if !onAddress.isEmpty { batch.addElements(onAddress, to: FirewallLayout.publishOnAddress, in: FirewallLayout.table) }
        if !onAny.isEmpty { batch.addElements(onAny, to: FirewallLayout.publishOnAny, in: FirewallLayout.table) }
    }

    func deleteElements(for publications: [Publication], to batch: inout NFTablesBatch) {
        let (onAddress, onAny) = elements(for: publications)
        if !onAddress.isEmpty { batch.deleteElements(onAddress, from: FirewallLayout.publishOnAddress, in: FirewallLayout.table) }
        if !onAny.isEmpty { batch.deleteElements(onAny, from: FirewallLayout.publishOnAny, in: FirewallLayout.table) }
    }

    private func elements(for publications: [Publication]) -> (onAddress: [SetElement], onAny: [SetElement]) {
        var onAddress: [SetElement] = []
        var onAny: [SetElement] = []
        for publication in publications {
            let target: [Value] = [.ipv4(publication.containerAddress), .port(publication.containerPort)]
            let portKey: [Value] = [.l4Protocol(publication.portProtocol.nftables), .port(publication.hostPort)]
            if let address = publication.hostAddress {
                onAddress.append(SetElement([.ipv4(address)] + portKey, maps: target))
            } else {
                onAny.append(SetElement(portKey, maps: target))
            }
        }
        return (onAddress, onAny)
    }

    /// Forwarding on in the host namespace (IPv6 too once a network has an IPv6 subnet: the
    /// namespace then acts as a router, which makes its interfaces ignore router
    /// advertisements unless accept_ra is 2), and route_localnet on each bridge so that the
    /// host's own 127.0.0.1 connections to published ports can be routed to the containers.
    private func enableForwarding(for networks: [NetworkDefinition]) throws {
        var settings = ["net.ipv4.ip_forward": "/proc/sys/net/ipv4/ip_forward"]
        if networks.contains(where: { $0.subnet(.v6) != nil }) {
            settings["net.ipv6.conf.all.forwarding"] = "/proc/sys/net/ipv6/conf/all/forwarding"
        }
        for (name, path) in settings {
            let result = swnet_write_sysctl_in_netns(hostNamespace?.fd ?? -1, path, "1")
            if result < 0 { throw SystemError("enable \(name)", errno: -result) }
        }
        let netlink = try hostNetlink()
        for network in networks where network.managesBridge {
            guard let bridge = try netlink.link(named: network.bridge) else { continue }
            try netlink.setLink(index: bridge.index, LinkChanges(routeLocalnet: true))
        }
    }
}

extension PortProtocol {
    var nftables: NFTables.TransportProtocol {
        switch self {
        case .tcp: .tcp
        case .udp: .udp
        case .sctp: .sctp
        }
    }
}
