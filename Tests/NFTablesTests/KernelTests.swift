import Foundation
import IPAM
import Netlink
import SwnetTestSupport
import Testing
import NFTables

/// The ruleset swnet builds for publishing, as one batch.
private struct PublishingRuleset {
    let table = Table(family: .ipv4, name: "swnet")
    let publishKey: [Field] = [.ipv4Destination, .l4Protocol, .transportDestinationPort]

    var chains: [Chain] {
        [
            Chain(table: table, name: "prerouting", base: BaseChain(type: .nat, hook: .prerouting, priority: Priority.dstnat)),
            Chain(table: table, name: "output", base: BaseChain(type: .nat, hook: .output, priority: Priority.dstnat)),
            Chain(table: table, name: "postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: Priority.srcnat)),
            Chain(table: table, name: "forward", base: BaseChain(type: .filter, hook: .forward, priority: Priority.filter, policy: .accept)),
            Chain(table: table, name: "published"),
        ]
    }

    var map: SetSpec {
        SetSpec(table: table, name: "publish", key: [.ipv4Address, .inetProtocol, .inetService], value: .data([.ipv4Address, .inetService]))
    }

    func element(_ host: String, _ port: UInt16, to target: String, _ targetPort: UInt16) -> SetElement {
        SetElement([.ipv4(IPv4Address(host)!), .l4Protocol(.tcp), .port(port)], maps: [.ipv4(IPv4Address(target)!), .port(targetPort)])
    }

    var rules: [Rule] {
        [
            Rule(table: table, chain: "prerouting", matching: [.fibDestinationType(.local)], then: [.jump("published")]),
            Rule(table: table, chain: "output", matching: [.fibDestinationType(.local)], then: [.jump("published")]),
            Rule(table: table, chain: "published", then: [.dnatThroughMap("publish", key: publishKey)]),
            Rule(table: table, chain: "postrouting",
                 matching: [.source(in: IPNetwork("10.88.0.0/16")!), Match.outboundInterface("swnet0").negated],
                 then: [.counter, .masquerade]),
            Rule(table: table, chain: "forward", matching: [.conntrackState([.established, .related])], then: [.accept]),
            Rule(table: table, chain: "forward", matching: [.conntrackStatus(.destinationNAT)], then: [.counter, .accept]),
            Rule(table: table, chain: "prerouting",
                 matching: [.ipv4Destination(IPv4Address("192.0.2.10")!), .tcpDestinationPort(9000)],
                 then: [.counter, .dnat(to: .v4(IPv4Address("10.88.0.7")!), port: 90)]),
            Rule(table: table, chain: "forward", matching: [.destinationPorts(.udp, 5000...5010)], then: [.drop]),
        ]
    }

    func batch(elements: [SetElement]) -> NFTablesBatch {
        var batch = NFTablesBatch()
        batch.add(table)
        chains.forEach { batch.add($0) }
        batch.add(map)
        batch.addElements(elements, to: "publish", in: table)
        rules.forEach { batch.add($0) }
        return batch
    }
}

@Suite("nftables against the kernel", .enabled(if: canManageNetworks, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root under unshare --net --mount)"))
struct KernelTests {
    private let ruleset = PublishingRuleset()

    @Test func wholeRulesetInOneBatch() throws {
        let box = try Sandbox()
        let elements = [ruleset.element("192.0.2.10", 8080, to: "10.88.0.5", 80),
                        ruleset.element("192.0.2.10", 8443, to: "10.88.0.5", 443)]
        let applied = try box.nft.apply(ruleset.batch(elements: elements))
        #expect(applied.ruleHandles.count == ruleset.rules.count)
        #expect(Set(applied.ruleHandles).count == ruleset.rules.count)
        #expect(!applied.ruleHandles.contains(0))

        let tables = try box.objects("table")
        #expect(tables.map { $0["name"] as? String } == ["swnet"])
        #expect(tables.first?["family"] as? String == "ip")

        let chains = try box.objects("chain")
        let byName = Dictionary(uniqueKeysWithValues: chains.map { ($0["name"] as! String, $0) })
        #expect(Set(byName.keys) == ["prerouting", "output", "postrouting", "forward", "published"])
        #expect(byName["prerouting"]?["hook"] as? String == "prerouting")
        #expect(byName["prerouting"]?["prio"] as? Int == -100)
        #expect(byName["prerouting"]?["type"] as? String == "nat")
        #expect(byName["postrouting"]?["prio"] as? Int == 100)
        #expect(byName["forward"]?["policy"] as? String == "accept")
        #expect(byName["published"]?["hook"] == nil)

        let map = try #require(try box.objects("map").first)
        #expect(map["name"] as? String == "publish")
        #expect(map["type"] as? [String] == ["ipv4_addr", "inet_proto", "inet_service"])
        #expect(map["map"] as? String == "ipv4_addr . inet_service")
        #expect((map["elem"] as? [Any])?.count == 2)

        // Each rule summarised by the statement and match keys nft decoded from it.
        let rules = try box.objects("rule")
        func summary(_ rule: [String: Any]) -> String {
            let expressions = rule["expr"] as? [[String: Any]] ?? []
            return expressions.compactMap { $0.keys.first }.joined(separator: ",")
        }
        let summaries = rules.map { "\($0["chain"] as! String): \(summary($0))" }
        #expect(summaries == [
            "prerouting: match,jump",
            "prerouting: match,match,counter,dnat",
            "output: match,jump",
            "postrouting: match,match,counter,masquerade",
            "forward: match,accept",
            "forward: match,counter,accept",
            "forward: match,drop",
            "published: dnat",
        ])
        let text = String(decoding: try spawn(box.nsenter + ["/usr/sbin/nft", "list", "ruleset"]), as: UTF8.self)
        for line in ["fib daddr type local jump published", "dnat ip to ip daddr . meta l4proto . th dport map @publish",
                     "ip saddr 10.88.0.0/16 oifname != \"swnet0\" counter", "ct state established,related accept",
                     "ct status dnat counter", "ip daddr 192.0.2.10 tcp dport 9000 counter", "dnat to 10.88.0.7:90",
                     "udp dport 5000-5010 drop", "192.0.2.10 . tcp . 8080 : 10.88.0.5 . 80"] {
            #expect(text.contains(line), "missing: \(line)\n\(text)")
        }

        // The same through our own dumps.
        #expect(try box.nft.tables() == [ruleset.table])
        #expect(try box.nft.exists(ruleset.table))
        #expect(try !box.nft.exists(Table(family: .inet, name: "swnet")))
        let dumpedChains = try box.nft.chains(in: ruleset.table)
        #expect(Set(dumpedChains.map(\.name)) == Set(ruleset.chains.map(\.name)))
        let postrouting = try #require(dumpedChains.first { $0.name == "postrouting" }?.base)
        #expect(postrouting.type == .nat && postrouting.hook == .postrouting && postrouting.priority == Priority.srcnat)
        #expect(postrouting.policy == .accept)   // the kernel's default
        let dumpedRules = try box.nft.rules(in: ruleset.table, chain: "published")
        #expect(dumpedRules.map(\.expressionNames) == [["payload", "meta", "payload", "lookup", "nat"]])
        #expect(dumpedRules.map(\.handle) == [applied.ruleHandles[2]])
        #expect(try box.nft.sets(in: ruleset.table).map(\.key) == [ruleset.map.key])
        #expect(Set(try box.nft.elements(of: "publish", in: ruleset.table)) == Set(elements))
    }

    /// A rule for a chain that does not exist, amid valid changes: nothing of the batch
    /// lands, and the error says which change failed and why.
    @Test func failedBatchChangesNothing() throws {
        let box = try Sandbox()
        try box.nft.apply(ruleset.batch(elements: [ruleset.element("192.0.2.10", 8080, to: "10.88.0.5", 80)]))
        let before = try spawn(box.nsenter + ["/usr/sbin/nft", "list", "ruleset"])

        var batch = NFTablesBatch()
        batch.add(Chain(table: ruleset.table, name: "extra"))
        batch.addElements([ruleset.element("192.0.2.10", 9090, to: "10.88.0.6", 80)], to: "publish", in: ruleset.table)
        batch.add(Rule(table: ruleset.table, chain: "missing", then: [.accept]))
        batch.add(SetSpec(table: ruleset.table, name: "late", key: [.inetService]))
        let error = try #require(throws: NetlinkError.self) { try box.nft.apply(batch) }
        #expect(error.errno == ENOENT)
        #expect(error.operation.hasPrefix("add rule ip swnet missing"), "\(error)")

        #expect(try spawn(box.nsenter + ["/usr/sbin/nft", "list", "ruleset"]) == before)
        #expect(try box.nft.chains(in: ruleset.table).contains { $0.name == "extra" } == false)
        #expect(try box.nft.elements(of: "publish", in: ruleset.table).count == 1)
    }

    /// Publishing and unpublishing one port: a batch of one element change, and a second
    /// owner of the same key is refused.
    @Test func incrementalElements() throws {
        let box = try Sandbox()
        try box.nft.apply(ruleset.batch(elements: []))
        let first = ruleset.element("192.0.2.10", 8080, to: "10.88.0.5", 80)
        let second = ruleset.element("192.0.2.10", 8081, to: "10.88.0.6", 80)

        var add = NFTablesBatch()
        add.addElements([first, second], to: "publish", in: ruleset.table, exclusive: true)
        try box.nft.apply(add)
        #expect(try box.nft.elements(of: "publish", in: ruleset.table).count == 2)

        var clash = NFTablesBatch()
        clash.addElements([ruleset.element("192.0.2.10", 8080, to: "10.88.0.9", 80)], to: "publish", in: ruleset.table, exclusive: true)
        let error = try #require(throws: NetlinkError.self) { try box.nft.apply(clash) }
        #expect(error.errno == EEXIST)
        #expect(error.operation == "add 1 element(s) to ip swnet publish")

        var remove = NFTablesBatch()
        remove.deleteElements([first], from: "publish", in: ruleset.table)
        try box.nft.apply(remove)
        #expect(try box.nft.elements(of: "publish", in: ruleset.table) == [second])
        let map = try #require(try box.objects("map").first)
        #expect((map["elem"] as? [Any])?.count == 1)

        // An interval set, for ranges of ports.
        var ranges = NFTablesBatch()
        ranges.add(SetSpec(table: ruleset.table, name: "ports", key: [.inetService], interval: true))
        // Single keys of an interval set are one-key ranges.
        ranges.addElements(SetElement.range(from: [.port(8000)], to: [.port(8100)]) + SetElement.range(from: [.port(22)], to: [.port(22)])
                           + SetElement.range(from: [.port(443)], to: [.port(443)]),
                           to: "ports", in: ruleset.table)
        try box.nft.apply(ranges)
        let set = try #require(try box.objects("set").first { $0["name"] as? String == "ports" })
        #expect(set["flags"] as? [String] == ["interval"])
        #expect((set["elem"] as? [Any])?.count == 3)
    }

    @Test func ruleDeletionAndFlush() throws {
        let box = try Sandbox()
        let handles = try box.nft.apply(ruleset.batch(elements: [])).ruleHandles
        var deletion = NFTablesBatch()
        deletion.deleteRule(handle: handles[4], chain: "forward", in: ruleset.table)
        try box.nft.apply(deletion)
        #expect(try box.nft.rules(in: ruleset.table, chain: "forward").map(\.handle) == [handles[5], handles[7]])

        var flush = NFTablesBatch()
        flush.flushChain("forward", in: ruleset.table)
        try box.nft.apply(flush)
        #expect(try box.nft.rules(in: ruleset.table, chain: "forward").isEmpty)
        #expect(try box.nft.rules(in: ruleset.table).count == ruleset.rules.count - 3)
    }

    @Test func deletingTheTableRemovesEverything() throws {
        let box = try Sandbox()
        try box.nft.apply(ruleset.batch(elements: [ruleset.element("192.0.2.10", 8080, to: "10.88.0.5", 80)]))
        var deletion = NFTablesBatch()
        deletion.delete(ruleset.table)
        try box.nft.apply(deletion)
        #expect(try box.ruleset().isEmpty)
        #expect(try box.nft.tables().isEmpty)

        var again = NFTablesBatch()
        again.delete(ruleset.table)
        #expect(throws: NetlinkError.self) { try box.nft.apply(again) }
        var ifExists = NFTablesBatch()
        ifExists.deleteIfExists(ruleset.table)
        try box.nft.apply(ifExists)
        #expect(try box.ruleset().isEmpty)
    }

    /// A netdev chain is bound to its interface, and `fwd` reads as nft writes it.
    @Test func netdevChainForwardsToAnInterface() throws {
        let box = try Sandbox()
        let table = Table(family: .netdev, name: "swnet")
        let base = BaseChain(type: .filter, hook: .ingress, priority: Priority.filter, policy: .accept, device: "lo")
        var batch = NFTablesBatch()
        batch.add(table)
        batch.add(Chain(table: table, name: "ingress-lo", base: base))
        batch.add(Rule(table: table, chain: "ingress-lo", matching: [.destination(in: IPNetwork("::1/128")!)],
                       then: [.forward(toInterface: 1, neighbour: IPAddress("::1")!)]))
        try box.nft.apply(batch)
        #expect(try box.nft.chains(in: table).first?.base == base)
        let rule = try #require(try box.objects("rule").first)
        let forward = (rule["expr"] as? [[String: Any]])?.last?["fwd"] as? [String: Any]
        #expect(forward?["dev"] as? String == "lo")
        #expect(forward?["addr"] as? String == "::1")
        #expect(forward?["family"] as? String == "ip6")
    }

    /// Real traffic: a client in one namespace connects to 192.0.2.1:8080 on the other,
    /// where only the DNAT map knows that the server listens on port 9090.
    @Test func mapEntryPublishesAPort() throws {
        let host = try Sandbox()
        let client = try Sandbox()
        try host.netlink.addLink(LinkSpec(name: "veth-host", kind: .veth(peer: VethPeer(name: "veth-client", namespace: client.namespace, up: true)), up: true))
        let hostLink = try #require(try host.netlink.link(named: "veth-host"))
        let clientLink = try #require(try client.netlink.link(named: "veth-client"))
        try host.netlink.addAddress(InterfaceAddress("192.0.2.1/24")!, interfaceIndex: hostLink.index)
        try client.netlink.addAddress(InterfaceAddress("192.0.2.2/24")!, interfaceIndex: clientLink.index)
        try host.netlink.setLink(index: 1, LinkChanges(up: true))

        try host.nft.apply(ruleset.batch(elements: [ruleset.element("192.0.2.1", 8080, to: "192.0.2.1", 9090)]))
        let server = try spawnInBackground(host.nsenter + ["/usr/bin/socat", "TCP-LISTEN:9090,reuseaddr,fork", "SYSTEM:echo published"])
        defer { stop(server) }

        func fetch(_ port: UInt16) throws -> String {
            for _ in 0..<50 {
                let reply = String(decoding: try spawn(client.nsenter + ["/usr/bin/socat", "-u", "TCP:192.0.2.1:\(port),connect-timeout=1", "STDOUT"]), as: UTF8.self)
                if !reply.isEmpty { return reply }
                usleep(100_000)
            }
            return ""
        }
        #expect(try fetch(8080) == "published\n")

        // Without the map entry the port is closed again.
        var unpublish = NFTablesBatch()
        unpublish.deleteElements([ruleset.element("192.0.2.1", 8080, to: "192.0.2.1", 9090)], from: "publish", in: ruleset.table)
        try host.nft.apply(unpublish)
        let reply = String(decoding: try spawn(client.nsenter + ["/usr/bin/socat", "-u", "TCP:192.0.2.1:8080,connect-timeout=1", "STDOUT"]), as: UTF8.self)
        #expect(reply.isEmpty)
    }
}
