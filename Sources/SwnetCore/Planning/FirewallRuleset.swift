import IPAM
import NFTables

/// swnet's nftables rules: one table of its own, `inet swnet`, that it rebuilds from its state
/// whenever networks change (or the table went missing, e.g. after `nft flush ruleset`), and
/// edits one map element at a time when a port is published or unpublished. It never touches
/// anyone else's table, and removes its own when the last network is gone.
///
/// Published ports go through two maps a family, so a new connection costs one lookup whatever
/// the number of ports (CNI portmap and netavark add one linear rule per port):
/// `publish_address`: ipv4_addr . inet_proto . inet_service → ipv4_addr . inet_service (one host address)
/// `publish_any`:     inet_proto . inet_service → ipv4_addr . inet_service (every local address)
/// and their IPv6 twins `publish_address6` and `publish_any6`, keyed and valued by ipv6_addr.
package enum FirewallLayout {
    static let table = Table(family: .inet, name: "swnet")
    /// Frames between the ports of swnet's bridges: MLD reports stop there (see addBridgeRules).
    static let bridgeTable = Table(family: .bridge, name: "swnet")
    /// ICMPv6 types a container sends when its interface comes up that only routers need.
    static let routerOnlyICMPv6: [UInt8] = [133, 143]   // router solicitation, MLDv2 report
    static let bridges = "bridges"
    package static let loopback = IPNetwork("127.0.0.0/8")!
    /// RFC 4193 unique local addresses: not routed on the Internet, so masqueraded on the way out.
    static let uniqueLocal = IPNetwork("fc00::/7")!
}

/// The two maps that publish the ports of one family, and how their keys are built.
struct PublishMaps {
    let family: IPFamily

    static let both = [PublishMaps(family: .v4), PublishMaps(family: .v6)]
    static let anyKey: [Field] = [.l4Protocol, .transportDestinationPort]

    private var suffix: String { family == .v4 ? "" : "6" }
    var onAddress: String { "publish_address\(suffix)" }
    var onAny: String { "publish_any\(suffix)" }
    var addressKey: [Field] { [family == .v4 ? .ipv4Destination : .ipv6Destination, .l4Protocol, .transportDestinationPort] }
    var target: [DataType] { [family == .v4 ? .ipv4Address : .ipv6Address, .inetService] }
    var natFamily: NATFamily { family == .v4 ? .ipv4 : .ipv6 }

    /// Where a port on every address applies: any local destination, loopback included (as
    /// Docker, the host reaches a port on 0.0.0.0 or [::] through 127.0.0.1 and [::1]).
    static let anyAddressMatches = [Match.fibDestinationType(.local)]

    /// The map elements of publications, by map name (in a fixed order).
    static func elements(for publications: [Publication]) -> [(map: String, elements: [SetElement])] {
        var byMap: [String: [SetElement]] = [:]
        for publication in publications {
            let maps = PublishMaps(family: publication.family)
            let target: [Value] = [.address(publication.containerAddress), .port(publication.containerPort)]
            let portKey: [Value] = [.l4Protocol(publication.portProtocol.nftables), .port(publication.hostPort)]
            if publication.hostAddress.isUnspecified {
                byMap[maps.onAny, default: []].append(SetElement(portKey, maps: target))
            } else {
                byMap[maps.onAddress, default: []].append(SetElement([.address(publication.hostAddress)] + portKey, maps: target))
            }
        }
        return byMap.keys.sorted().map { ($0, byMap[$0]!) }
    }
}

/// swnet's ruleset as a value: the batch that makes swnet's tables what the networks and
/// publications call for. Pure: no Swnet, no kernel; `Swnet.renderFirewall` applies it, and tests
/// compare its rendering with golden text without root.
package enum FirewallRuleset {
    /// Replaces swnet's tables with ones built for `networks` and `publications`, in one
    /// atomic batch; with no network, only removes them. `bridgesPresent` names the networks'
    /// bridges that exist in the kernel now: only those can have a netdev chain.
    package static func batch(networks: [NetworkDefinition], publications: [Publication],
                              bridgesPresent: Set<String>) -> NFTablesBatch {
        var batch = NFTablesBatch()
        batch.deleteIfExists(FirewallLayout.table)
        batch.deleteIfExists(FirewallLayout.bridgeTable)
        batch.deleteIfExists(FirewallLayout.netdevTable)
        if !networks.isEmpty {
            addRuleset(for: networks, publications: publications, to: &batch)
            addBridgeRules(for: networks, to: &batch)
            addLoopbackReturn(for: networks, bridgesPresent: bridgesPresent, to: &batch)
        }
        return batch
    }

    private static func addRuleset(for networks: [NetworkDefinition], publications: [Publication], to batch: inout NFTablesBatch) {
        let table = FirewallLayout.table
        batch.add(table)
        for maps in PublishMaps.both {
            batch.add(SetSpec(table: table, name: maps.onAddress, key: maps.addressKey.map(\.dataType), value: .data(maps.target)))
            batch.add(SetSpec(table: table, name: maps.onAny, key: PublishMaps.anyKey.map(\.dataType), value: .data(maps.target)))
        }
        batch.add(SetSpec(table: table, name: FirewallLayout.bridges, key: [.interfaceName]))
        batch.addElements(networks.map { SetElement([.interfaceName($0.bridge)]) }, to: FirewallLayout.bridges, in: table)

        // Loopback addresses arriving from anywhere but lo are dropped before NAT: with
        // route_localnet on the bridges, 127.0.0.1-published ports must stay local (moby#45610).
        // ::1 has its twin in the bridge table (LoopbackReturn.swift).
        batch.add(Chain(table: table, name: "raw-prerouting", base: BaseChain(type: .filter, hook: .prerouting, priority: -300)))
        batch.add(Rule(table: table, chain: "raw-prerouting",
                       matching: [Match.inboundInterface("lo").negated, Match.destination(in: FirewallLayout.loopback)],
                       then: [.drop]))

        for (name, hook) in [("prerouting", Hook.prerouting), ("output", Hook.output)] {
            batch.add(Chain(table: table, name: name, base: BaseChain(type: .nat, hook: hook, priority: Priority.dstnat)))
            for maps in PublishMaps.both {
                batch.add(Rule(table: table, chain: name, matching: [],
                               then: [.dnatThroughMap(maps.onAddress, key: maps.addressKey, family: maps.natFamily)]))
                batch.add(Rule(table: table, chain: name, matching: PublishMaps.anyAddressMatches,
                               then: [.dnatThroughMap(maps.onAny, key: PublishMaps.anyKey, family: maps.natFamily)]))
            }
        }

        batch.add(Chain(table: table, name: "postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: Priority.srcnat)))
        // The host reaching a published port through 127.0.0.1 or ::1: the container must answer a real address.
        for loopback in [FirewallLayout.loopback, FirewallLayout.ipv6Loopback] {
            batch.add(Rule(table: table, chain: "postrouting",
                           matching: [Match.source(in: loopback), Match.conntrackStatus(.destinationNAT)],
                           then: [.masquerade]))
        }
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
                for subnet in network.subnets where subnet.family == .v4 || FirewallLayout.uniqueLocal.contains(subnet) {
                    let withinOverlay = network.overlay?.clusterSubnet(subnet.family).map { [Match.destination(in: $0).negated] } ?? []
                    batch.add(Rule(table: table, chain: "postrouting",
                                   matching: [Match.source(in: subnet), Match.outboundInterface(bridge).negated] + withinOverlay,
                                   then: [.masquerade]))
                }
            }
            if let overlay = network.overlay {
                // The bridge and the tunnel to the other hosts talk, whatever the isolation below says.
                for clusterSubnet in overlay.clusterSubnets {
                    batch.add(Rule(table: table, chain: "forward",
                                   matching: [Match.inboundInterface(bridge), Match.outboundInterface(overlay.tunnel),
                                              Match.destination(in: clusterSubnet)],
                                   then: [.accept]))
                    batch.add(Rule(table: table, chain: "forward",
                                   matching: [Match.inboundInterface(overlay.tunnel), Match.outboundInterface(bridge),
                                              Match.source(in: clusterSubnet)],
                                   then: [.accept]))
                }
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

    /// Every IPv6 container reports its multicast groups (its solicited-node addresses) with
    /// MLD when its interface comes up, a few times over, and solicits routers (three times, 4 s
    /// apart) once its link-local address is there; the bridge floods both to every port (without
    /// a multicast querier it floods MLD reports too): with 1,000 containers, ~4,000 deliveries
    /// into other namespaces per attach. Only routers need them, and the bridge (the router here)
    /// and its snooping see them before forwarding: from one container port to another they are
    /// dropped. The ports are told by the link group swnet gives every host side it makes
    /// (this kernel's nftables has no `meta ibrname` to name the bridge), not by name, so a
    /// veth named with `-l` is one of them too.
    private static func addBridgeRules(for networks: [NetworkDefinition], to batch: inout NFTablesBatch) {
        guard networks.contains(where: { $0.subnet(.v6) != nil }) else { return }
        let table = FirewallLayout.bridgeTable
        batch.add(table)
        batch.add(Chain(table: table, name: "forward", base: BaseChain(type: .filter, hook: .forward, priority: Priority.filter, policy: .accept)))
        for type in FirewallLayout.routerOnlyICMPv6 {
            batch.add(Rule(table: table, chain: "forward",
                           matching: [Match.inboundInterfaceGroup(InterfaceNames.hostSideGroup),
                                      Match.outboundInterfaceGroup(InterfaceNames.hostSideGroup),
                                      Match.icmpv6Type(type)],
                           then: [.drop]))
        }
    }

    /// Adds the map elements that publish `publications`.
    static func addElements(for publications: [Publication], to batch: inout NFTablesBatch) {
        for (map, elements) in PublishMaps.elements(for: publications) { batch.addElements(elements, to: map, in: FirewallLayout.table) }
    }

    /// Deletes the map elements that publish `publications`.
    static func deleteElements(for publications: [Publication], to batch: inout NFTablesBatch) {
        for (map, elements) in PublishMaps.elements(for: publications) { batch.deleteElements(elements, from: map, in: FirewallLayout.table) }
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
