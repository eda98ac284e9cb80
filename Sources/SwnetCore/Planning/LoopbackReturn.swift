import IPAM
import NFTables

/// The way back for the host's own connections to ports published on [::1] (or on [::]).
/// The output chain DNATs [::1]:PORT to the container and postrouting masquerades the ::1
/// source to the bridge's address, as for 127.0.0.1; but IPv6 has no route_localnet, and the
/// container's answer, translated back to ::1 before routing, dies twice (measured with the
/// kfree_skb tracepoint in a throwaway namespace, docs/design.md):
/// - input routing of ::1 is strict about the interface (rt6_need_strict): with no local
///   route for ::1 on the bridge the answer is discarded as unroutable;
/// - with br_netfilter calling the IPv6 hooks (the default in every namespace once that module
///   is loaded) the translation happens inside the bridge, and the IPv6 receive path then drops
///   a ::1 destination on the bridge: the netdev table sends such answers on to lo instead.
/// Nobody else may take either way: the bridge table drops frames to ::1 entering any bridge
/// port before br_netfilter or the netdev table see them (other interfaces: the kernel drops
/// ::1 arriving there itself), so a ::1 destination on a bridge is always such an answer.
/// These are the rules; the local route is `Swnet.enableLoopbackReturn` (Firewall/FirewallUpdates.swift).
extension FirewallLayout {
    static let netdevTable = Table(family: .netdev, name: "swnet")
    static let ipv6Loopback = IPNetwork("::1/128")!
    /// lo is interface 1 in every network namespace.
    static let loopbackIndex: Int32 = 1
    /// The kernel's table of local routes.
    static let localRoutes: UInt32 = 255
}

extension FirewallRuleset {
    static func addLoopbackReturn(for networks: [NetworkDefinition], bridgesPresent: Set<String>, to batch: inout NFTablesBatch) {
        guard networks.contains(where: { $0.subnet(.v6) != nil }) else { return }
        // addBridgeRules made the bridge table for the same networks. Before br_netfilter (0).
        let bridgeTable = FirewallLayout.bridgeTable
        batch.add(Chain(table: bridgeTable, name: "prerouting", base: BaseChain(type: .filter, hook: .prerouting, priority: -200)))
        batch.add(Rule(table: bridgeTable, chain: "prerouting", matching: [Match.destination(in: FirewallLayout.ipv6Loopback)], then: [.drop]))

        // A netdev chain is bound to its interface: only bridges that exist now (the render
        // that follows creating a bridge adds its chain; older kernels refuse missing ones).
        let netdevTable = FirewallLayout.netdevTable
        batch.add(netdevTable)
        for network in networks where network.managesBridge && network.subnet(.v6) != nil {
            guard bridgesPresent.contains(network.bridge) else { continue }
            let chain = "ingress-\(network.bridge)"
            batch.add(Chain(table: netdevTable, name: chain,
                            base: BaseChain(type: .filter, hook: .ingress, priority: Priority.filter, device: network.bridge)))
            batch.add(Rule(table: netdevTable, chain: chain, matching: [Match.destination(in: FirewallLayout.ipv6Loopback)],
                           then: [.forward(toInterface: FirewallLayout.loopbackIndex, neighbour: FirewallLayout.ipv6Loopback.address)]))
        }
    }
}
