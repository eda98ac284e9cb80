import IPAM

// A batch as text in nft's own syntax, one change a line
// (`add rule inet swnet forward iifname "br0" oifname != "br0" drop`): what a reader checks a
// ruleset against, and what golden tests of rulesets compare. Rules are read back from their
// expressions, so the text shows what the kernel would get, not what a builder meant; an
// expression this module's builders never make shows as its libnftnl name in brackets.

extension NFTablesBatch: CustomStringConvertible {
    public var description: String {
        var sets: [SetKey: SetSpec] = [:]
        var lines: [String] = []
        for operation in operations {
            switch operation {
            case .addTable(let table):
                lines.append("add table \(table)")
            case .deleteTable(let table):
                lines.append("delete table \(table)")
            case .addChain(let chain):
                lines.append("add chain \(chain.table) \(chain.name)" + (chain.base.map { " { \($0.listing) }" } ?? ""))
            case .deleteChain(let table, let name):
                lines.append("delete chain \(table) \(name)")
            case .flushChain(let table, let name):
                lines.append("flush chain \(table) \(name)")
            case .addRule(let rule):
                lines.append("add rule \(rule.table) \(rule.chain) \(RuleReader.listing(rule.expressions))")
            case .deleteRule(let table, let chain, let handle):
                lines.append("delete rule \(table) \(chain) handle \(handle)")
            case .addSet(let set):
                sets[SetKey(table: set.table, name: set.name)] = set
                lines.append("add \(set.value == nil ? "set" : "map") \(set.table) \(set.name) { \(set.listing) }")
            case .deleteSet(let table, let name):
                lines.append("delete set \(table) \(name)")
            case .addElements(let table, let name, let elements, let exclusive):
                let set = sets[SetKey(table: table, name: name)]
                lines.append("\(exclusive ? "create" : "add") element \(table) \(name) { \(elements.map { $0.listing(in: set) }.joined(separator: ", ")) }")
            case .deleteElements(let table, let name, let elements):
                let set = sets[SetKey(table: table, name: name)]
                lines.append("delete element \(table) \(name) { \(elements.map { $0.listing(in: set) }.joined(separator: ", ")) }")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Sets are named per table; elements are listed by their set's types.
private struct SetKey: Hashable {
    let table: Table
    let name: String
}

extension BaseChain {
    /// `type nat hook prerouting priority -100; policy accept;`, `type filter hook ingress device "br0" priority 0;`
    var listing: String {
        let attachment = device.map { "ingress device \"\($0)\"" } ?? hook.name
        return "type \(type.rawValue) hook \(attachment) priority \(priority);" + (policy.map { " policy \($0 == .accept ? "accept" : "drop");" } ?? "")
    }
}

extension SetSpec {
    /// `type ipv4_addr . inet_service : ipv4_addr . inet_service; flags interval;`
    var listing: String {
        var text = "type " + key.map(\.name).joined(separator: " . ")
        switch value {
        case .data(let types)?: text += " : " + types.map(\.name).joined(separator: " . ")
        case .verdict?: text += " : verdict"
        case nil: break
        }
        return text + (interval ? "; flags interval;" : ";")
    }
}

extension SetElement {
    /// `10.0.0.1 . tcp . 8080 : 10.0.0.5 . 80`, by the set's types; hex when the set is unknown.
    func listing(in set: SetSpec?) -> String {
        var text = DataType.listing(key, as: set?.key)
        if let keyEnd { text += "-" + DataType.listing(keyEnd, as: set?.key) }
        if isIntervalEnd { text = "end " + text }
        switch value {
        case .data(let bytes)?:
            if case .data(let types)? = set?.value { text += " : " + DataType.listing(bytes, as: types) } else { text += " : " + hex(bytes) }
        case .verdict(let verdict)?: text += " : " + verdict.listing
        case nil: break
        }
        return text
    }
}

extension DataType {
    /// A key or value made of these components (each padded to whole registers in a concatenation).
    static func listing(_ bytes: [UInt8], as types: [DataType]?) -> String {
        guard let types, storageLength(types) == bytes.count else { return hex(bytes) }
        if types.count == 1 { return types[0].listing(bytes) }
        var offset = 0
        return types.map { type in
            defer { offset += registerAligned(type.length) }
            return type.listing(Array(bytes[offset..<offset + type.length]))
        }.joined(separator: " . ")
    }

    func listing(_ bytes: [UInt8]) -> String {
        switch id {
        case DataType.ipv4Address.id: IPv4Address(bytes: bytes).map(\.description) ?? hex(bytes)
        case DataType.ipv6Address.id: IPv6Address(bytes: bytes).map(\.description) ?? hex(bytes)
        case DataType.etherAddress.id: bytes.map(hexByte).joined(separator: ":")
        case DataType.inetProtocol.id: bytes.count == 1 ? protocolName(bytes[0]) : hex(bytes)
        case DataType.inetService.id: bytes.count == 2 ? String(UInt16(bytes[0]) << 8 | UInt16(bytes[1])) : hex(bytes)
        case DataType.interfaceName.id: quotedInterfaceName(bytes)
        default: hex(bytes)
        }
    }
}

extension Verdict {
    var listing: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .continue: "continue"
        case .return: "return"
        case .jump(let chain): "jump \(chain)"
        case .goto(let chain): "goto \(chain)"
        }
    }
}

/// Reads a rule's expressions back into nft's syntax, following what each register holds.
private struct RuleReader {
    /// What a register holds: the selector nft would print, how its values read, and the
    /// mask a bitwise put on it.
    struct Loaded {
        var selector: String
        var format: ValueFormat
        var mask: [UInt8]? = nil
    }

    enum ValueFormat {
        case address, interfaceName, nfproto, etherType, l4Protocol, port, number, conntrackState, conntrackStatus, addressType, raw
        /// A 32-bit value in host byte order (a link group), in decimal as nft lists it.
        case hostOrderNumber
    }

    var registers: [UInt32: Loaded] = [:]
    /// Loads not yet used by a comparison or lookup, in order: the components of a concatenated key.
    var pendingKey: [Loaded] = []
    /// Map lookups whose result a NAT statement takes: `ip daddr . th dport map @name`.
    var mapped: [UInt32: String] = [:]
    var immediates: [UInt32: [UInt8]] = [:]
    /// The transport protocol a previous match required: it names the transport header's first byte.
    var transportProtocol: UInt8?
    var parts: [String] = []

    static func listing(_ expressions: [Expression]) -> String {
        var reader = RuleReader()
        for expression in expressions { reader.read(expression) }
        return reader.parts.joined(separator: " ")
    }

    mutating func load(_ loaded: Loaded, into register: Register) {
        registers[register.number] = loaded
        pendingKey.append(loaded)
    }

    mutating func read(_ expression: Expression) {
        switch expression {
        case .payload(let base, let offset, let length, let register):
            load(payloadField(base: base, offset: offset, length: length), into: register)
        case .meta(let key, let register):
            load(metaField(key), into: register)
        case .conntrack(let key, let direction, let register):
            let prefix = direction.map { $0 == .original ? "ct original" : "ct reply" } ?? "ct"
            let format: ValueFormat = switch key {
            case .state: .conntrackState
            case .status: .conntrackStatus
            default: .raw
            }
            load(Loaded(selector: "\(prefix) \(conntrackKeyName(key))", format: format), into: register)
        case .fib(let result, let flags, let register):
            let by = flags == .destinationAddress ? "daddr" : flags == .sourceAddress ? "saddr" : "flags \(flags.rawValue)"
            let what = switch result {
            case .addressType: "type"
            case .outboundInterface: "oif"
            case .outboundInterfaceName: "oifname"
            }
            load(Loaded(selector: "fib \(by) \(what)", format: result == .addressType ? .addressType : .raw), into: register)
        case .bitwise(let source, let destination, let mask, _):
            var loaded = registers[source.number] ?? Loaded(selector: "[bitwise]", format: .raw)
            loaded.mask = mask
            registers[destination.number] = loaded
            if !pendingKey.isEmpty { pendingKey[pendingKey.count - 1] = loaded }
        case .compare(let register, let op, let data):
            let loaded = registers[register.number] ?? Loaded(selector: "[cmp]", format: .raw)
            parts.append(comparison(loaded, op, data))
            if loaded.format == .l4Protocol, op == .equal, data.count == 1 { transportProtocol = data[0] }
            pendingKey = []
        case .range(let register, let op, let from, let to):
            let loaded = registers[register.number] ?? Loaded(selector: "[range]", format: .raw)
            parts.append("\(loaded.selector) \(op == .equal ? "" : "!= ")\(value(from, loaded))-\(value(to, loaded))")
            pendingKey = []
        case .lookup(let set, _, let destination, let inverted):
            let key = pendingKey.map(\.selector).joined(separator: " . ")
            pendingKey = []
            switch destination {
            case nil: parts.append("\(key) \(inverted ? "!= " : "")@\(set)")
            case Register.verdict?: parts.append("\(key) vmap @\(set)")
            case let destination?: mapped[destination.number] = "\(key) map @\(set)"
            }
        case .immediateVerdict(let verdict):
            parts.append(verdict.listing)
        case .immediateData(let bytes, let register):
            immediates[register.number] = bytes
        case .nat(let type, let family, let registers):
            parts.append("\(type == .destination ? "dnat" : "snat") \(family == .ipv4 ? "ip" : "ip6") to \(natTarget(registers, family: family))")
        case .forward(let device, let neighbour, let family):
            let address = immediates[neighbour.number].map { DataType.listing($0, as: [family == .ipv4 ? .ipv4Address : .ipv6Address]) }
            let index = immediates[device.number].flatMap { $0.count == 4 ? $0.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : nil }
            parts.append("fwd \(family == .ipv4 ? "ip" : "ip6") to \(address ?? "[fwd]") device \(index.map(String.init) ?? "[fwd]")")
        case .masquerade:
            parts.append("masquerade")
        case .counter:
            parts.append("counter")
        }
    }

    func payloadField(base: PayloadBase, offset: UInt32, length: UInt32) -> Loaded {
        switch (base, offset, length) {
        case (.network, 12, 4): Loaded(selector: "ip saddr", format: .address)
        case (.network, 16, 4): Loaded(selector: "ip daddr", format: .address)
        case (.network, 8, 16): Loaded(selector: "ip6 saddr", format: .address)
        case (.network, 24, 16): Loaded(selector: "ip6 daddr", format: .address)
        case (.transport, 0, 2): Loaded(selector: "th sport", format: .port)
        case (.transport, 2, 2): Loaded(selector: "th dport", format: .port)
        case (.transport, 0, 1) where transportProtocol == TransportProtocol.icmpv6.rawValue:
            Loaded(selector: "icmpv6 type", format: .number)
        case (.transport, 0, 1) where transportProtocol == TransportProtocol.icmp.rawValue:
            Loaded(selector: "icmp type", format: .number)
        default:
            Loaded(selector: "@\(["ll", "nh", "th"][Int(base.rawValue)]),\(offset * 8),\(length * 8)", format: .raw)
        }
    }

    func metaField(_ key: MetaKey) -> Loaded {
        switch key {
        case .nfproto: Loaded(selector: "meta nfproto", format: .nfproto)
        case .protocol: Loaded(selector: "meta protocol", format: .etherType)
        case .l4Protocol: Loaded(selector: "meta l4proto", format: .l4Protocol)
        case .inboundInterfaceName: Loaded(selector: "iifname", format: .interfaceName)
        case .outboundInterfaceName: Loaded(selector: "oifname", format: .interfaceName)
        case .inboundInterfaceGroup: Loaded(selector: "iifgroup", format: .hostOrderNumber)
        case .outboundInterfaceGroup: Loaded(selector: "oifgroup", format: .hostOrderNumber)
        case .inboundInterface: Loaded(selector: "iif", format: .raw)
        case .outboundInterface: Loaded(selector: "oif", format: .raw)
        case .mark: Loaded(selector: "meta mark", format: .raw)
        case .length: Loaded(selector: "meta length", format: .raw)
        }
    }

    func conntrackKeyName(_ key: ConntrackKey) -> String {
        switch key {
        case .state: "state"
        case .direction: "direction"
        case .status: "status"
        case .mark: "mark"
        case .protocolSource: "proto-src"
        case .protocolDestination: "proto-dst"
        case .ipv4Source: "ip saddr"
        case .ipv4Destination: "ip daddr"
        case .ipv6Source: "ip6 saddr"
        case .ipv6Destination: "ip6 daddr"
        }
    }

    func comparison(_ loaded: Loaded, _ op: ComparisonOperator, _ data: [UInt8]) -> String {
        // `ct status dnat`: the status masked with the bits, compared with zero.
        if loaded.format == .conntrackState || loaded.format == .conntrackStatus, let mask = loaded.mask,
           data.allSatisfy({ $0 == 0 }), op == .notEqual || op == .equal {
            return "\(loaded.selector) \(op == .equal ? "& " : "")\(conntrackBits(mask, loaded.format))\(op == .equal ? " == 0" : "")"
        }
        let symbol = switch op {
        case .equal: ""
        case .notEqual: "!= "
        case .less: "< "
        case .lessOrEqual: "<= "
        case .greater: "> "
        case .greaterOrEqual: ">= "
        }
        return "\(loaded.selector) \(symbol)\(value(data, loaded))"
    }

    func value(_ data: [UInt8], _ loaded: Loaded) -> String {
        switch loaded.format {
        case .address:
            addressValue(data, mask: loaded.mask)
        case .interfaceName:
            // Fewer bytes than IFNAMSIZ compare only a prefix of the name.
            data.count < 16 ? "\"\(String(decoding: data, as: UTF8.self))*\"" : quotedInterfaceName(data)
        case .nfproto:
            data == [UInt8(NATFamily.ipv4.rawValue)] ? "ipv4" : data == [UInt8(NATFamily.ipv6.rawValue)] ? "ipv6" : hex(data)
        case .etherType:
            data == [0x08, 0x00] ? "ip" : data == [0x86, 0xdd] ? "ip6" : hex(data)
        case .l4Protocol:
            data.count == 1 ? protocolName(data[0]) : hex(data)
        case .port:
            data.count == 2 ? String(UInt16(data[0]) << 8 | UInt16(data[1])) : hex(data)
        case .number:
            data.count == 1 ? String(data[0]) : hex(data)
        case .addressType:
            data.count == 4 ? addressTypeName(data) : hex(data)
        case .hostOrderNumber:
            data.count == 4 ? String(data.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) : hex(data)
        case .conntrackState, .conntrackStatus, .raw:
            hex(data)
        }
    }

    /// `10.0.0.0/24` when a bitwise masked the address (the builders mask only by prefixes).
    func addressValue(_ data: [UInt8], mask: [UInt8]?) -> String {
        let address = data.count == 4 ? IPv4Address(bytes: data).map(IPAddress.v4) : IPv6Address(bytes: data).map(IPAddress.v6)
        guard let address else { return hex(data) }
        guard let mask else { return address.description }
        return "\(address)/\(mask.reduce(0) { $0 + $1.nonzeroBitCount })"
    }

    func conntrackBits(_ mask: [UInt8], _ format: ValueFormat) -> String {
        guard mask.count == 4 else { return hex(mask) }
        let bits = mask.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let names: [(UInt32, String)] = format == .conntrackState
            ? [(ConntrackState.invalid.rawValue, "invalid"), (ConntrackState.established.rawValue, "established"),
               (ConntrackState.related.rawValue, "related"), (ConntrackState.new.rawValue, "new"),
               (ConntrackState.untracked.rawValue, "untracked")]
            : [(ConntrackStatus.sourceNAT.rawValue, "snat"), (ConntrackStatus.destinationNAT.rawValue, "dnat")]
        let named = names.filter { bits & $0.0 != 0 }
        guard named.reduce(0, { $0 | $1.0 }) == bits else { return hex(mask) }
        return named.map(\.1).joined(separator: ",")
    }

    func addressTypeName(_ data: [UInt8]) -> String {
        let raw = data.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return switch AddressType(rawValue: raw) {
        case .unicast?: "unicast"
        case .local?: "local"
        case .broadcast?: "broadcast"
        case .anycast?: "anycast"
        case .multicast?: "multicast"
        case .blackhole?: "blackhole"
        case .unreachable?: "unreachable"
        case nil: hex(data)
        }
    }

    /// `ip daddr . th dport map @name`, or `10.0.0.5:80` from immediates.
    func natTarget(_ registers: NATRegisters, family: NATFamily) -> String {
        if let address = registers.address, let lookup = mapped[address.number] { return lookup }
        let address = registers.address.flatMap { immediates[$0.number] }.map {
            DataType.listing($0, as: [family == .ipv4 ? .ipv4Address : .ipv6Address])
        } ?? "[nat]"
        guard let port = registers.port.flatMap({ immediates[$0.number] }) else { return address }
        let host = family == .ipv4 ? address : "[\(address)]"
        return "\(host):\(DataType.inetService.listing(port))"
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    "0x" + bytes.map(hexByte).joined()
}

private func hexByte(_ byte: UInt8) -> String {
    (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
}

private func protocolName(_ number: UInt8) -> String {
    TransportProtocol(rawValue: number).map { "\($0)" } ?? String(number)
}

/// An IFNAMSIZ name, NUL padded, quoted.
private func quotedInterfaceName(_ bytes: [UInt8]) -> String {
    "\"\(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))\""
}
