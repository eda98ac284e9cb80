import CMnl
import CNftnl

// Turns the value types into libnftnl objects and those into netlink messages.

extension Expression {
    func nftnl() -> NftnlExpression {
        let expression = NftnlExpression(name)
        switch self {
        case .payload(let base, let offset, let length, let register):
            expression.set(NFTNL_EXPR_PAYLOAD_DREG, u32: register.number)
            expression.set(NFTNL_EXPR_PAYLOAD_BASE, u32: base.rawValue)
            expression.set(NFTNL_EXPR_PAYLOAD_OFFSET, u32: offset)
            expression.set(NFTNL_EXPR_PAYLOAD_LEN, u32: length)
        case .meta(let key, let register):
            expression.set(NFTNL_EXPR_META_KEY, u32: key.rawValue)
            expression.set(NFTNL_EXPR_META_DREG, u32: register.number)
        case .compare(let register, let op, let data):
            expression.set(NFTNL_EXPR_CMP_SREG, u32: register.number)
            expression.set(NFTNL_EXPR_CMP_OP, u32: op.rawValue)
            expression.set(NFTNL_EXPR_CMP_DATA, bytes: data)
        case .bitwise(let source, let destination, let mask, let xor):
            precondition(mask.count == xor.count, "bitwise mask and xor must be as long as each other")
            expression.set(NFTNL_EXPR_BITWISE_SREG, u32: source.number)
            expression.set(NFTNL_EXPR_BITWISE_DREG, u32: destination.number)
            expression.set(NFTNL_EXPR_BITWISE_LEN, u32: UInt32(mask.count))
            expression.set(NFTNL_EXPR_BITWISE_MASK, bytes: mask)
            expression.set(NFTNL_EXPR_BITWISE_XOR, bytes: xor)
        case .immediateVerdict(let verdict):
            expression.set(NFTNL_EXPR_IMM_DREG, u32: Register.verdict.number)
            expression.set(NFTNL_EXPR_IMM_VERDICT, u32: UInt32(bitPattern: verdict.code))
            if let chain = verdict.chain { expression.set(NFTNL_EXPR_IMM_CHAIN, string: chain) }
        case .immediateData(let data, let register):
            expression.set(NFTNL_EXPR_IMM_DREG, u32: register.number)
            expression.set(NFTNL_EXPR_IMM_DATA, bytes: data)
        case .lookup(let set, let source, let destination, let inverted):
            expression.set(NFTNL_EXPR_LOOKUP_SET, string: set)
            expression.set(NFTNL_EXPR_LOOKUP_SREG, u32: source.number)
            if let destination { expression.set(NFTNL_EXPR_LOOKUP_DREG, u32: destination.number) }
            if inverted { expression.set(NFTNL_EXPR_LOOKUP_FLAGS, u32: UInt32(NFT_LOOKUP_F_INV.rawValue)) }
        case .conntrack(let key, let direction, let register):
            expression.set(NFTNL_EXPR_CT_KEY, u32: key.rawValue)
            expression.set(NFTNL_EXPR_CT_DREG, u32: register.number)
            if let direction { expression.set(NFTNL_EXPR_CT_DIR, u8: direction.rawValue) }
        case .counter, .masquerade:
            break
        case .nat(let type, let family, let registers):
            expression.set(NFTNL_EXPR_NAT_TYPE, u32: type.rawValue)
            expression.set(NFTNL_EXPR_NAT_FAMILY, u32: family.rawValue)
            var flags: UInt32 = 0
            if let address = registers.address {
                expression.set(NFTNL_EXPR_NAT_REG_ADDR_MIN, u32: address.number)
                expression.set(NFTNL_EXPR_NAT_REG_ADDR_MAX, u32: address.number)
                flags |= UInt32(NF_NAT_RANGE_MAP_IPS)
            }
            if let port = registers.port {
                expression.set(NFTNL_EXPR_NAT_REG_PROTO_MIN, u32: port.number)
                expression.set(NFTNL_EXPR_NAT_REG_PROTO_MAX, u32: port.number)
                flags |= UInt32(NF_NAT_RANGE_PROTO_SPECIFIED)
            }
            if flags != 0 { expression.set(NFTNL_EXPR_NAT_FLAGS, u32: flags) }
        case .fib(let result, let flags, let register):
            expression.set(NFTNL_EXPR_FIB_RESULT, u32: result.rawValue)
            expression.set(NFTNL_EXPR_FIB_FLAGS, u32: flags.rawValue)
            expression.set(NFTNL_EXPR_FIB_DREG, u32: register.number)
        case .forward(let device, let neighbour, let family):
            expression.set(NFTNL_EXPR_FWD_SREG_DEV, u32: device.number)
            expression.set(NFTNL_EXPR_FWD_SREG_ADDR, u32: neighbour.number)
            expression.set(NFTNL_EXPR_FWD_NFPROTO, u32: family.rawValue)
        case .range(let register, let op, let from, let to):
            precondition(op == .equal || op == .notEqual, "a range matches with equal or notEqual only")
            expression.set(NFTNL_EXPR_RANGE_SREG, u32: register.number)
            expression.set(NFTNL_EXPR_RANGE_OP, u32: op.rawValue)
            expression.set(NFTNL_EXPR_RANGE_FROM_DATA, bytes: from)
            expression.set(NFTNL_EXPR_RANGE_TO_DATA, bytes: to)
        }
        return expression
    }

    /// Most bytes the expression can take in a message: attribute headers and
    /// fixed-size fields (well under 256 bytes), plus its variable data.
    var encodedSizeBound: Int {
        switch self {
        case .compare(_, _, let data), .immediateData(let data, _): 256 + data.count
        case .bitwise(_, _, let mask, let xor): 256 + mask.count + xor.count
        case .range(_, _, let from, let to): 256 + from.count + to.count
        case .lookup(let set, _, _, _): 256 + set.utf8.count
        case .immediateVerdict(let verdict): 256 + (verdict.chain?.utf8.count ?? 0)
        default: 256
        }
    }
}

/// One netlink message of a batch or a request, built by libnftnl into a buffer that is
/// sized from an upper bound of what it will write (libnftnl's builders do not check
/// the buffer's end).
func nftablesMessage(_ type: nf_tables_msg_types, family: UInt8, flags: Int32, sequence: UInt32,
                     sizeBound: Int, payload: (UnsafeMutablePointer<nlmsghdr>) -> Void) -> [UInt8] {
    let capacity = 64 + sizeBound
    var buffer = [UInt8](repeating: 0, count: capacity)
    let length = buffer.withUnsafeMutableBytes { raw -> Int in
        let header = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue),
                                           UInt16(family), UInt16(flags), sequence)!
        payload(header)
        return Int(header.pointee.nlmsg_len)
    }
    precondition(length <= capacity, "nftables message overran its bound (\(length) > \(capacity))")
    return Array(buffer.prefix(length))
}

private let objectSizeBound = 1024

private func nameBound(_ names: String?...) -> Int { names.reduce(0) { $0 + ($1?.utf8.count ?? 0) + 8 } }

extension Table {
    func nftnl() -> NftnlTable {
        let table = NftnlTable()
        table.set(NFTNL_TABLE_NAME, string: name)
        return table
    }

    func message(_ type: nf_tables_msg_types, flags: Int32, sequence: UInt32) -> [UInt8] {
        let table = nftnl()
        return nftablesMessage(type, family: family.rawValue, flags: flags, sequence: sequence,
                               sizeBound: objectSizeBound + nameBound(name)) { nftnl_table_nlmsg_build_payload($0, table.pointer) }
    }
}

extension Chain {
    func nftnl() -> NftnlChain {
        let chain = NftnlChain()
        chain.set(NFTNL_CHAIN_TABLE, string: table.name)
        chain.set(NFTNL_CHAIN_NAME, string: name)
        if let base {
            chain.set(NFTNL_CHAIN_TYPE, string: base.type.rawValue)
            chain.set(NFTNL_CHAIN_HOOKNUM, u32: base.hook.rawValue)
            chain.set(NFTNL_CHAIN_PRIO, s32: base.priority)
            if let policy = base.policy { chain.set(NFTNL_CHAIN_POLICY, u32: policy.rawValue) }
            if let device = base.device { chain.set(NFTNL_CHAIN_DEV, string: device) }
        }
        return chain
    }

    func message(_ type: nf_tables_msg_types, flags: Int32, sequence: UInt32) -> [UInt8] {
        let chain = nftnl()
        return nftablesMessage(type, family: table.family.rawValue, flags: flags, sequence: sequence,
                               sizeBound: objectSizeBound + nameBound(table.name, name)) { nftnl_chain_nlmsg_build_payload($0, chain.pointer) }
    }
}

extension Rule {
    func nftnl() -> NftnlRule {
        let rule = NftnlRule()
        rule.set(NFTNL_RULE_TABLE, string: table.name)
        rule.set(NFTNL_RULE_CHAIN, string: chain)
        for expression in expressions { rule.add(expression.nftnl()) }
        return rule
    }

    func message(flags: Int32, sequence: UInt32) -> [UInt8] {
        let rule = nftnl()
        let bound = objectSizeBound + nameBound(table.name, chain) + expressions.reduce(0) { $0 + $1.encodedSizeBound }
        return nftablesMessage(NFT_MSG_NEWRULE, family: table.family.rawValue, flags: flags, sequence: sequence,
                               sizeBound: bound) { nftnl_rule_nlmsg_build_payload($0, rule.pointer) }
    }

    /// A DELRULE for one rule (by handle) or, without a handle, for every rule of the chain.
    static func deletion(table: Table, chain: String, handle: UInt64?, sequence: UInt32) -> [UInt8] {
        let rule = NftnlRule()
        rule.set(NFTNL_RULE_TABLE, string: table.name)
        rule.set(NFTNL_RULE_CHAIN, string: chain)
        if let handle { rule.set(NFTNL_RULE_HANDLE, u64: handle) }
        return nftablesMessage(NFT_MSG_DELRULE, family: table.family.rawValue, flags: 0, sequence: sequence,
                               sizeBound: objectSizeBound + nameBound(table.name, chain)) { nftnl_rule_nlmsg_build_payload($0, rule.pointer) }
    }
}

extension SetSpec {
    func nftnl() -> NftnlSet {
        let set = NftnlSet()
        set.set(NFTNL_SET_TABLE, string: table.name)
        set.set(NFTNL_SET_NAME, string: name)
        set.set(NFTNL_SET_FLAGS, u32: flags)
        set.set(NFTNL_SET_KEY_TYPE, u32: DataType.encode(key))
        set.set(NFTNL_SET_KEY_LEN, u32: UInt32(DataType.storageLength(key)))
        switch value {
        case .data(let types)?:
            set.set(NFTNL_SET_DATA_TYPE, u32: DataType.encode(types))
            set.set(NFTNL_SET_DATA_LEN, u32: UInt32(DataType.storageLength(types)))
        case .verdict?:
            set.set(NFTNL_SET_DATA_TYPE, u32: NFT_DATA_VERDICT.rawValue)
        case nil:
            break
        }
        if interval && isConcatenation {
            // The pipapo backend needs each component's length to split the key.
            let lengths = key.map { UInt8($0.length) }
            set.set(NFTNL_SET_DESC_CONCAT, bytes: lengths)
        }
        return set
    }

    func message(flags: Int32, sequence: UInt32) -> [UInt8] {
        let set = nftnl()
        // The kernel wants an id for each new set, unique within the batch, so that later
        // messages of the batch could refer to it; the sequence number is one.
        set.set(NFTNL_SET_ID, u32: sequence)
        return nftablesMessage(NFT_MSG_NEWSET, family: table.family.rawValue, flags: flags, sequence: sequence,
                               sizeBound: objectSizeBound + nameBound(table.name, name)) { nftnl_set_nlmsg_build_payload($0, set.pointer) }
    }

    static func deletion(table: Table, name: String, sequence: UInt32) -> [UInt8] {
        let set = setReference(table: table, name: name)
        return nftablesMessage(NFT_MSG_DELSET, family: table.family.rawValue, flags: 0, sequence: sequence,
                               sizeBound: objectSizeBound + nameBound(table.name, name)) { nftnl_set_nlmsg_build_payload($0, set.pointer) }
    }
}

/// Just a set's table and name: what element messages, deletions and element dumps carry.
func setReference(table: Table, name: String) -> NftnlSet {
    let set = NftnlSet()
    set.set(NFTNL_SET_TABLE, string: table.name)
    set.set(NFTNL_SET_NAME, string: name)
    return set
}

extension SetElement {
    func nftnl() -> NftnlSetElement {
        let element = NftnlSetElement()
        element.set(NFTNL_SET_ELEM_KEY, bytes: key)
        if let keyEnd { element.set(NFTNL_SET_ELEM_KEY_END, bytes: keyEnd) }
        if isIntervalEnd { element.set(NFTNL_SET_ELEM_FLAGS, u32: UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue)) }
        switch value {
        case .data(let data)?:
            element.set(NFTNL_SET_ELEM_DATA, bytes: data)
        case .verdict(let verdict)?:
            element.set(NFTNL_SET_ELEM_VERDICT, u32: UInt32(bitPattern: verdict.code))
            if let chain = verdict.chain { element.set(NFTNL_SET_ELEM_CHAIN, string: chain) }
        case nil:
            break
        }
        return element
    }

    var encodedSizeBound: Int {
        let data: Int = switch value {
        case .data(let bytes)?: bytes.count
        case .verdict(let verdict)?: verdict.chain?.utf8.count ?? 0
        case nil: 0
        }
        return 128 + key.count + (keyEnd?.count ?? 0) + data
    }
}

/// The element list of one message is a netlink nest, whose length field has 16 bits:
/// elements are split over as many messages as needed to stay below it.
func elementMessages(_ type: nf_tables_msg_types, table: Table, set: String, elements: [SetElement], flags: Int32,
                     nextSequence: () -> UInt32) -> [[UInt8]] {
    let nestLimit = 60_000
    var chunks: [[SetElement]] = []
    var current: [SetElement] = []
    var currentSize = 0
    for element in elements {
        let size = element.encodedSizeBound
        if currentSize + size > nestLimit, !current.isEmpty {
            chunks.append(current)
            current = []
            currentSize = 0
        }
        current.append(element)
        currentSize += size
    }
    if !current.isEmpty { chunks.append(current) }
    return chunks.map { chunk in
        let nftnlSet = setReference(table: table, name: set)
        for element in chunk { nftnlSet.add(element.nftnl()) }
        let bound = objectSizeBound + nameBound(table.name, set) + chunk.reduce(0) { $0 + $1.encodedSizeBound }
        return nftablesMessage(type, family: table.family.rawValue, flags: flags, sequence: nextSequence(),
                               sizeBound: bound) { nftnl_set_elems_nlmsg_build_payload($0, nftnlSet.pointer) }
    }
}
