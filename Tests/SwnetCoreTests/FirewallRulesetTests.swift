import IPAM
import NFTables
import Netlink
import Testing
@testable import SwnetCore

/// swnet's ruleset for representative states, read back from the batch in nft's syntax and
/// compared with the text below: a changed rule changes the text. No root needed.
@Suite struct FirewallRulesetTests {
    static func network(_ name: String, _ subnets: [String], bridge: String, masquerade: Bool = true, isInternal: Bool = false) -> NetworkDefinition {
        let subnets = subnets.map { IPNetwork($0)! }
        return NetworkDefinition(name: name, subnets: subnets, gateways: subnets.map { $0.address(atOffset: 1)! }, bridge: bridge,
                                 mtu: nil, managesBridge: true, created: 0, masquerade: masquerade, isInternal: isInternal)
    }

    static func publication(_ host: String, _ port: UInt16, _ portProtocol: PortProtocol = .tcp, to container: String,
                            _ containerPort: UInt16) -> Publication {
        Publication(hostAddress: IPAddress(host)!, hostPort: port, portProtocol: portProtocol, containerAddress: IPAddress(container)!,
                    containerPort: containerPort, network: "n", namespaceID: NamespaceIdentity(device: 1, inode: 2), target: "t")
    }

    /// Every network's bridge exists unless `bridgesPresent` says otherwise.
    static func listing(_ networks: [NetworkDefinition], _ publications: [Publication] = [], bridgesPresent: Set<String>? = nil) -> String {
        FirewallRuleset.batch(networks: networks, publications: publications,
                              bridgesPresent: bridgesPresent ?? Set(networks.map(\.bridge))).description
    }

    /// Every render starts by removing swnet's tables (adding each first, so the delete cannot fail).
    static let removal = """
        add table inet swnet
        delete table inet swnet
        add table bridge swnet
        delete table bridge swnet
        add table netdev swnet
        delete table netdev swnet
        """

    /// What every ruleset with a network holds before its networks' own rules.
    static let common = """
        \(removal)
        add table inet swnet
        add map inet swnet publish_address { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
        add map inet swnet publish_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
        add map inet swnet publish_address6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
        add map inet swnet publish_any6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
        add set inet swnet bridges { type ifname; }
        """

    static let natChains = """
        add chain inet swnet raw-prerouting { type filter hook prerouting priority -300; }
        add rule inet swnet raw-prerouting meta nfproto ipv4 iifname != "lo" ip daddr 127.0.0.0/8 drop
        add chain inet swnet prerouting { type nat hook prerouting priority -100; }
        add rule inet swnet prerouting meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @publish_address
        add rule inet swnet prerouting meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        add rule inet swnet prerouting meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_address6
        add rule inet swnet prerouting meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any6
        add chain inet swnet output { type nat hook output priority -100; }
        add rule inet swnet output meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @publish_address
        add rule inet swnet output meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        add rule inet swnet output meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_address6
        add rule inet swnet output meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any6
        add chain inet swnet postrouting { type nat hook postrouting priority 100; }
        add rule inet swnet postrouting meta nfproto ipv4 ip saddr 127.0.0.0/8 ct status dnat masquerade
        add rule inet swnet postrouting meta nfproto ipv6 ip6 saddr ::1 ct status dnat masquerade
        add chain inet swnet forward { type filter hook forward priority 0; policy accept; }
        """

    @Test func noNetworkRemovesTheTables() {
        #expect(Self.listing([]) == Self.removal)
    }

    @Test func oneIPv4Network() {
        #expect(Self.listing([Self.network("web", ["10.88.0.0/24"], bridge: "web")]) == """
            \(Self.common)
            add element inet swnet bridges { "web" }
            \(Self.natChains)
            add rule inet swnet postrouting iifname "web" oifname "web" ct status dnat masquerade
            add rule inet swnet postrouting meta nfproto ipv4 ip saddr 10.88.0.0/24 oifname != "web" masquerade
            add rule inet swnet forward iifname "web" oifname != "web" oifname @bridges drop
            """)
    }

    @Test func dualStackWithPublicationsOnBothFamiliesAndBothMaps() {
        let networks = [Self.network("dual", ["10.89.0.0/24", "fd00:89::/64"], bridge: "dual"),
                        Self.network("global", ["2001:db8:5::/64"], bridge: "global")]
        let publications = [
            Self.publication("0.0.0.0", 8080, to: "10.89.0.2", 80),
            Self.publication("::", 8080, to: "fd00:89::2", 80),
            Self.publication("127.0.0.1", 5353, .udp, to: "10.89.0.2", 53),
            Self.publication("2001:db8::1", 9443, to: "2001:db8:5::7", 443),
        ]
        // The bridge of "global" is missing (a reboot): it gets no netdev chain until it is back.
        #expect(Self.listing(networks, publications, bridgesPresent: ["dual"]) == """
            \(Self.common)
            add element inet swnet bridges { "dual", "global" }
            \(Self.natChains)
            add rule inet swnet postrouting iifname "dual" oifname "dual" ct status dnat masquerade
            add rule inet swnet postrouting meta nfproto ipv4 ip saddr 10.89.0.0/24 oifname != "dual" masquerade
            add rule inet swnet postrouting meta nfproto ipv6 ip6 saddr fd00:89::/64 oifname != "dual" masquerade
            add rule inet swnet forward iifname "dual" oifname != "dual" oifname @bridges drop
            add rule inet swnet postrouting iifname "global" oifname "global" ct status dnat masquerade
            add rule inet swnet forward iifname "global" oifname != "global" oifname @bridges drop
            add element inet swnet publish_address { 127.0.0.1 . udp . 5353 : 10.89.0.2 . 53 }
            add element inet swnet publish_address6 { 2001:db8::1 . tcp . 9443 : 2001:db8:5::7 . 443 }
            add element inet swnet publish_any { tcp . 8080 : 10.89.0.2 . 80 }
            add element inet swnet publish_any6 { tcp . 8080 : fd00:89::2 . 80 }
            add table bridge swnet
            add chain bridge swnet forward { type filter hook forward priority 0; policy accept; }
            add rule bridge swnet forward meta protocol ip6 iifgroup 1937178625 oifgroup 1937178625 meta l4proto icmpv6 icmpv6 type 133 drop
            add rule bridge swnet forward meta protocol ip6 iifgroup 1937178625 oifgroup 1937178625 meta l4proto icmpv6 icmpv6 type 143 drop
            add chain bridge swnet prerouting { type filter hook prerouting priority -200; }
            add rule bridge swnet prerouting meta protocol ip6 ip6 daddr ::1 drop
            add table netdev swnet
            add chain netdev swnet ingress-dual { type filter hook ingress device "dual" priority 0; }
            add rule netdev swnet ingress-dual meta protocol ip6 ip6 daddr ::1 fwd ip6 to ::1 device 1
            """)
    }

    @Test func internalAndUnmasqueradedNetworks() {
        let networks = [Self.network("private", ["10.91.0.0/24"], bridge: "private", isInternal: true),
                        Self.network("routed", ["10.92.0.0/24"], bridge: "routed", masquerade: false)]
        #expect(Self.listing(networks) == """
            \(Self.common)
            add element inet swnet bridges { "private", "routed" }
            \(Self.natChains)
            add rule inet swnet postrouting iifname "private" oifname "private" ct status dnat masquerade
            add rule inet swnet forward iifname "private" oifname != "private" drop
            add rule inet swnet forward oifname "private" iifname != "private" drop
            add rule inet swnet postrouting iifname "routed" oifname "routed" ct status dnat masquerade
            add rule inet swnet forward iifname "routed" oifname != "routed" oifname @bridges drop
            """)
    }

    @Test func overlayNetwork() {
        let share = NetworkDefinition.overlayShare(name: "ov", subnets: [IPNetwork("10.60.3.0/24")!], bridge: "swov", mtu: 1450, created: 0,
                                                   clusterSubnets: [IPNetwork("10.60.0.0/16")!], mode: .vxlan, tunnel: "swov-vx",
                                                   underlayIP: IPAddress("192.0.2.10")!, lease: 1)
        #expect(Self.listing([share]) == """
            \(Self.common)
            add element inet swnet bridges { "swov" }
            \(Self.natChains)
            add rule inet swnet postrouting iifname "swov" oifname "swov" ct status dnat masquerade
            add rule inet swnet postrouting meta nfproto ipv4 ip saddr 10.60.3.0/24 oifname != "swov" ip daddr != 10.60.0.0/16 masquerade
            add rule inet swnet forward meta nfproto ipv4 iifname "swov" oifname "swov-vx" ip daddr 10.60.0.0/16 accept
            add rule inet swnet forward meta nfproto ipv4 iifname "swov-vx" oifname "swov" ip saddr 10.60.0.0/16 accept
            add rule inet swnet forward iifname "swov" oifname != "swov" oifname @bridges drop
            """)
    }
}
