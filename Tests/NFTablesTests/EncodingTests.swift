import CMnl
import CNftnl
import IPAM
import NetlinkTransport
import Testing
@testable import NFTables

/// What libnftnl writes for our objects, checked attribute by attribute (no privileges).
@Suite struct EncodingTests {
    let table = Table(family: .ipv4, name: "swnet")

    private func header(_ message: [UInt8]) -> (type: UInt16, flags: UInt16, sequence: UInt32, family: UInt8) {
        let type = UInt16(message[4]) | UInt16(message[5]) << 8
        let flags = UInt16(message[6]) | UInt16(message[7]) << 8
        let sequence = message[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (type, flags, sequence, message[16])
    }

    @Test func tableMessage() {
        let message = table.message(NFT_MSG_NEWTABLE, flags: 0x400 | 0x4, sequence: 7)
        let parsed = header(message)
        #expect(parsed.type == 0x0a00)
        #expect(parsed.sequence == 7)
        #expect(parsed.family == 2)
        #expect(WireAttributes(message: message).string(1) == "swnet")
    }

    @Test func baseChainMessage() {
        let chain = Chain(table: table, name: "prerouting",
                          base: BaseChain(type: .nat, hook: .prerouting, priority: Priority.dstnat, policy: .accept))
        let message = chain.message(NFT_MSG_NEWCHAIN, flags: 0, sequence: 1)
        #expect(header(message).type == 0x0a03)
        let attributes = WireAttributes(message: message)
        #expect(attributes.string(1) == "swnet")
        #expect(attributes.string(3) == "prerouting")
        #expect(attributes.string(7) == "nat")
        #expect(attributes.be32(5) == 1)
        let hook = attributes.nested(4)
        #expect(hook?.be32(1) == 0)
        #expect(hook?.be32(2).map { Int32(bitPattern: $0) } == -100)
    }

    @Test func regularChainHasNoHook() {
        let message = Chain(table: table, name: "published").message(NFT_MSG_NEWCHAIN, flags: 0, sequence: 1)
        let attributes = WireAttributes(message: message)
        #expect(attributes[4] == nil)
        #expect(attributes[7] == nil)
    }

    /// `ip daddr 192.0.2.10 accept`: payload, cmp, immediate, with their registers and data.
    @Test func ruleWithPayloadCompareImmediate() throws {
        let rule = Rule(table: table, chain: "input", expressions: [
            .payload(base: .network, offset: 16, length: 4, into: .scratch(0)),
            .compare(.scratch(0), .equal, [192, 0, 2, 10]),
            .immediateVerdict(.jump("published")),
        ])
        let message = rule.message(flags: 0, sequence: 3)
        #expect(header(message).type == 0x0a06)
        let attributes = WireAttributes(message: message)
        #expect(attributes.string(2) == "input")
        let expressions = try #require(attributes.nested(4)).all(1).map { WireAttributes($0[...]) }
        #expect(expressions.map { $0.string(1) } == ["payload", "cmp", "immediate"])

        let payload = try #require(expressions[0].nested(2))
        #expect(payload.be32(1) == 8)   // NFT_REG32_00
        #expect(payload.be32(2) == 1)   // network header
        #expect(payload.be32(3) == 16)
        #expect(payload.be32(4) == 4)

        let compare = try #require(expressions[1].nested(2))
        #expect(compare.be32(2) == 0)   // NFT_CMP_EQ
        #expect(compare.nested(3)?[1] == [192, 0, 2, 10])

        let verdict = try #require(expressions[2].nested(2)?.nested(2)?.nested(2))
        #expect(verdict.be32(1).map { Int32(bitPattern: $0) } == -3)
        #expect(verdict.string(2) == "published")
    }

    /// What DNAT needs: `ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service`.
    @Test func concatenatedMap() {
        let map = SetSpec(table: table, name: "publish", key: [.ipv4Address, .inetProtocol, .inetService],
                          value: .data([.ipv4Address, .inetService]))
        let attributes = WireAttributes(message: map.message(flags: 0, sequence: 1))
        #expect(attributes.string(2) == "publish")
        #expect(attributes.be32(3) == 0x8)                       // NFT_SET_MAP
        #expect(attributes.be32(4) == 0x730d)  // 7 << 12 | 12 << 6 | 13, as nft packs it
        #expect(attributes.be32(5) == 12)
        #expect(attributes.be32(6) == 0x1cd)
        #expect(attributes.be32(7) == 8)
    }

    @Test func concatenatedIntervalSetCarriesFieldLengths() {
        let set = SetSpec(table: table, name: "ranges", key: [.ipv4Address, .inetService], interval: true)
        let attributes = WireAttributes(message: set.message(flags: 0, sequence: 1))
        #expect(attributes.be32(3) == 0x84)   // NFT_SET_INTERVAL | NFT_SET_CONCAT
        let fields = attributes.nested(9)?.nested(2)?.all(1).map { WireAttributes($0[...]).be32(1) }
        #expect(fields == [4, 2])
    }

    @Test func concatenatedElementPadsEachComponentToARegister() {
        let element = SetElement([.ipv4(IPv4Address("192.0.2.10")!), .l4Protocol(.tcp), .port(8080)],
                                 maps: [.ipv4(IPv4Address("10.0.0.5")!), .port(80)])
        #expect(element.key == [192, 0, 2, 10, 6, 0, 0, 0, 0x1f, 0x90, 0, 0])
        #expect(element.value == .data([10, 0, 0, 5, 0, 80, 0, 0]))
        #expect(SetElement([.port(8080)]).key == [0x1f, 0x90])
    }

    @Test func singleFieldRangesEndJustPastTheirLastKey() {
        let elements = SetElement.network(IPNetwork("10.0.0.0/24")!)
        #expect(elements.map(\.key) == [[10, 0, 0, 0], [10, 0, 1, 0]])
        #expect(elements.map(\.isIntervalEnd) == [false, true])
        #expect(SetElement.range(from: [.port(1000)], to: [.port(65535)]).count == 1)
    }

    /// Begin and end markers around the changes, consecutive sequence numbers, and a
    /// description for each that errors will quote.
    @Test func batchFraming() {
        var batch = NFTablesBatch()
        batch.add(table)
        batch.add(Rule(table: table, chain: "input", matching: [.tcpDestinationPort(22)], then: [.accept]))
        batch.addElements([SetElement([.port(80)])], to: "ports", in: table)
        let encoded = batch.encode(firstSequence: 100)
        let messages = encoded.messages
        #expect(messages.count == 5)
        #expect(messages.map { header($0).type } == [0x10, 0x0a00, 0x0a06, 0x0a0c, 0x11])
        #expect(messages.map { header($0).sequence } == [100, 101, 102, 103, 104])
        #expect(header(messages[2]).flags & 0x8 != 0)   // NLM_F_ECHO: the handle comes back
        #expect(encoded.descriptions[102] == "add rule ip swnet input (rule 1 of the batch)")
        #expect(encoded.addedRules == [102])
    }

    /// Thousands of elements are split over several messages, each nest below 64 KiB.
    @Test func manyElementsSplitOverMessages() {
        var batch = NFTablesBatch()
        let elements = (0..<5000).map { SetElement([.ipv4(IPv4Address(UInt32(0x0a00_0000 + $0))), .l4Protocol(.tcp), .port(UInt16($0))],
                                                   maps: [.ipv4(IPv4Address(0x0a00_0001)), .port(80)]) }
        batch.addElements(elements, to: "publish", in: table)
        let messages = batch.encode(firstSequence: 1).messages
        #expect(messages.count > 3)
        #expect(messages.allSatisfy { $0.count < 65_535 })
    }

    @Test func matchesPickRegistersAndDependencies() {
        let names = Match.tcpDestinationPort(8080).expressions.map(\.name)
        #expect(names == ["meta", "cmp", "payload", "cmp"])
        let dnat = Statement.dnatThroughMap("publish", key: [.ipv4Destination, .l4Protocol, .transportDestinationPort])
        #expect(dnat.expressions.suffix(5) == [
            .payload(base: .network, offset: 16, length: 4, into: .scratch(0)),
            .meta(.l4Protocol, into: .scratch(1)),
            .payload(base: .transport, offset: 2, length: 2, into: .scratch(2)),
            .lookup(set: "publish", source: .scratch(0), destination: .scratch(0), inverted: false),
            .nat(.destination, family: .ipv4, NATRegisters(address: .scratch(0), port: .scratch(1))),
        ])
        #expect(Match.outboundInterface("br0").negated.expressions.last == .compare(.scratch(0), .notEqual, Array("br0".utf8) + Array(repeating: 0, count: 13)))
    }

    /// An inet table sees IPv4 and IPv6: the rule checks the version once, first; an ip
    /// table needs no check.
    @Test func ipVersionCheckOnlyWhereNeeded() {
        let matches: [Match] = [.ipv4Destination(IPv4Address("192.0.2.10")!), .tcpDestinationPort(80)]
        let statements: [Statement] = [.dnat(to: .v4(IPv4Address("10.0.0.5")!), port: 8080)]
        let inet = Rule(table: Table(family: .inet, name: "swnet"), chain: "prerouting", matching: matches, then: statements)
        #expect(Array(inet.expressions.prefix(2)) == Match.nfproto(.ipv4).expressions)
        #expect(inet.expressions.filter { $0 == .meta(.nfproto, into: .scratch(0)) }.count == 1)
        let ip = Rule(table: table, chain: "prerouting", matching: matches, then: statements)
        #expect(!ip.expressions.contains(.meta(.nfproto, into: .scratch(0))))
        #expect(ip.expressions.map(\.name) == ["payload", "cmp", "meta", "cmp", "payload", "cmp", "immediate", "immediate", "nat"])
    }

    @Test func dataTypesDecodeFromConcatenatedIDs() {
        #expect(DataType.decode(0x730d) == [.ipv4Address, .inetProtocol, .inetService])
        #expect(DataType.decode(7) == [.ipv4Address])
    }
}

/// Dump replies captured from the kernel (`ip swnet` with a concatenated DNAT map, a nat
/// prerouting chain and its map rule), parsed as the handle parses them.
@Suite struct DumpParsingTests {
    static let chains = "70000000030a0200070000003f570000020000020a00010073776e65740000000f000300707265726f7574696e6700000c000200000000000000000114000400080001000000000008000200ffffff9c0800050000000001080007006e61740008000a000000000108000600000000011400000003000200070000003f57000000000000"
    static let rules = "4c010000060a0208070000003f570000020000020a00010073776e65740000000f000200707265726f7574696e6700000c000300000000000000000310010400340001000c0001007061796c6f61640024000200080001000000000108000200000000010800030000000010080004000000000424000100090001006d657461000000001400020008000200000000100800010000000009340001000c0001007061796c6f61640024000200080001000000000a080002000000000208000300000000020800040000000002380001000b0001006c6f6f6b75700000280002000c0001007075626c6973680008000200000000010800030000000001080005000000000048000100080001006e6174003c00020008000100000000010800020000000002080003000000000108000400000000010800050000000009080006000000000908000700000000031400000003000200070000003f57000000000000"
    static let sets = "b0000000090a0200070000003f570000020000020a00010073776e65740000000c0002007075626c697368000c00100000000000000000020800030000000008080004000000730d080005000000000c08000600000001cd08000700000000082a000d00000400000000010400000000030800040d0000000100040800040d000000010006040000000000000400090017001300307866666666666666663832353038663430000008001400000000011400000003000200070000003f57000000000000"

    private func objects<T>(_ hex: String, _ parse: (UnsafePointer<nlmsghdr>) -> T?) -> [T] {
        let received = bytes(hex: hex)
        let messages = received.withUnsafeBytes { NetlinkMessage.split($0) }
        #expect(messages.last?.type == 3)   // NLMSG_DONE
        return messages.dropLast().compactMap { message in message.withHeader { parse($0) } }
    }

    @Test func chainDump() {
        let chains = objects(Self.chains, Chain.init(message:))
        #expect(chains.count == 1)
        #expect(chains.first?.table == Table(family: .ipv4, name: "swnet"))
        #expect(chains.first?.name == "prerouting")
        #expect(chains.first?.base == BaseChain(type: .nat, hook: .prerouting, priority: -100, policy: .accept))
    }

    @Test func ruleDump() {
        let rules = objects(Self.rules, RuleSummary.init(message:))
        #expect(rules.count == 1)
        #expect(rules.first?.chain == "prerouting")
        #expect(rules.first?.handle == 3)
        #expect(rules.first?.expressionNames == ["payload", "meta", "payload", "lookup", "nat"])
    }

    @Test func setDump() {
        let sets = objects(Self.sets, SetSpec.init(message:))
        #expect(sets.count == 1)
        #expect(sets.first?.name == "publish")
        #expect(sets.first?.key == [.ipv4Address, .inetProtocol, .inetService])
        #expect(sets.first?.value == .data([.ipv4Address, .inetService]))
        #expect(sets.first?.interval == false)
    }
}
