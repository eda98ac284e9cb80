import CMnl
import CNftnl

// The objects of dump replies (and echoes), parsed by libnftnl into the value types.

private func decodedFamily(_ value: UInt32) -> Family? { Family(rawValue: UInt8(truncatingIfNeeded: value)) }

extension Table {
    init?(message: UnsafePointer<nlmsghdr>) {
        let table = NftnlTable()
        guard nftnl_table_nlmsg_parse(message, table.pointer) >= 0, let name = table.string(NFTNL_TABLE_NAME),
              let family = decodedFamily(table.u32(NFTNL_TABLE_FAMILY)) else { return nil }
        self.init(family: family, name: name)
    }
}

extension Chain {
    init?(message: UnsafePointer<nlmsghdr>) {
        let chain = NftnlChain()
        guard nftnl_chain_nlmsg_parse(message, chain.pointer) >= 0, let table = chain.string(NFTNL_CHAIN_TABLE),
              let name = chain.string(NFTNL_CHAIN_NAME), let family = decodedFamily(chain.u32(NFTNL_CHAIN_FAMILY)) else { return nil }
        self.init(table: Table(family: family, name: table), name: name)
        if chain.isSet(NFTNL_CHAIN_HOOKNUM), let hook = Hook(rawValue: chain.u32(NFTNL_CHAIN_HOOKNUM)) {
            base = BaseChain(type: chain.string(NFTNL_CHAIN_TYPE).flatMap(ChainType.init(rawValue:)) ?? .filter,
                             hook: hook, priority: chain.s32(NFTNL_CHAIN_PRIO),
                             policy: chain.isSet(NFTNL_CHAIN_POLICY) ? ChainPolicy(rawValue: chain.u32(NFTNL_CHAIN_POLICY)) : nil,
                             device: chain.string(NFTNL_CHAIN_DEV))
        }
        handle = chain.u64(NFTNL_CHAIN_HANDLE)
    }
}

extension RuleSummary {
    init?(message: UnsafePointer<nlmsghdr>) {
        let rule = NftnlRule()
        guard nftnl_rule_nlmsg_parse(message, rule.pointer) >= 0, let table = rule.string(NFTNL_RULE_TABLE),
              let chain = rule.string(NFTNL_RULE_CHAIN), let family = decodedFamily(rule.u32(NFTNL_RULE_FAMILY)) else { return nil }
        self.init(table: Table(family: family, name: table), chain: chain, handle: rule.u64(NFTNL_RULE_HANDLE),
                  expressionNames: rule.expressionNames)
    }
}

extension SetSpec {
    init?(message: UnsafePointer<nlmsghdr>) {
        let set = NftnlSet()
        guard nftnl_set_nlmsg_parse(message, set.pointer) >= 0, let table = set.string(NFTNL_SET_TABLE),
              let name = set.string(NFTNL_SET_NAME), let family = decodedFamily(set.u32(NFTNL_SET_FAMILY)) else { return nil }
        let flags = set.u32(NFTNL_SET_FLAGS)
        var value: MapValue?
        if flags & NFTSetFlag.map != 0 {
            let dataType = set.u32(NFTNL_SET_DATA_TYPE)
            value = dataType == NFT_DATA_VERDICT.rawValue ? .verdict : .data(DataType.decode(dataType))
        }
        self.init(table: Table(family: family, name: table), name: name, key: DataType.decode(set.u32(NFTNL_SET_KEY_TYPE)),
                  value: value, interval: flags & NFTSetFlag.interval != 0)
        handle = set.u64(NFTNL_SET_HANDLE)
    }
}

extension SetElement {
    /// The elements of one GETSETELEM reply message.
    static func elements(message: UnsafePointer<nlmsghdr>) -> [SetElement]? {
        let set = NftnlSet()
        guard nftnl_set_elems_nlmsg_parse(message, set.pointer) >= 0 else { return nil }
        return set.elements
    }
}
