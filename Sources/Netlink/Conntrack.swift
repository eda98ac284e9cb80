import CMnl
import Glibc

/// Connection tracking (netfilter's ctnetlink): enough to forget the flows to a port. A UDP
/// "connection" lives on in conntrack as long as packets keep coming, so without this a
/// re-published UDP port keeps sending clients to the container that had it before.
public final class ConntrackHandle {
    private let netlink: NetlinkHandle

    /// Conntrack of `namespace`, or of this process's namespace.
    public init(namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        netlink = try NetlinkHandle(namespace: namespace, netlinkProtocol: NETLINK_NETFILTER)
    }

    /// Deletes the entries of both families whose original direction goes to `port` over IP protocol
    /// `protocolNumber`; returns how many it deleted. Entries that vanish meanwhile are skipped.
    @discardableResult
    public func deleteEntries(protocolNumber: UInt8, destinationPort: UInt16) throws(NetlinkError) -> Int {
        // AF_UNSPEC lists IPv4 and IPv6 entries; a delete names its entry's family.
        let matching = try netlink.dump(Self.message(IPCTNL_MSG_CT_GET, flags: NLM_F_DUMP, family: AF_UNSPEC),
                                        operation: "list conntrack entries") { message -> (family: UInt8, tuple: [UInt8])? in
            guard let attributes = message.attributes(after: nfgenmsg.self, count: __CTA_MAX.rawValue),
                  let original = attributes.nested(CTA_TUPLE_ORIG.rawValue, count: __CTA_TUPLE_MAX.rawValue),
                  let proto = original.nested(CTA_TUPLE_PROTO.rawValue, count: __CTA_PROTO_MAX.rawValue),
                  proto.u8(CTA_PROTO_NUM.rawValue) == protocolNumber,
                  proto.be16(CTA_PROTO_DST_PORT.rawValue) == destinationPort,
                  let family = message.familyHeader(nfgenmsg.self)?.nfgen_family,
                  let tuple = attributes.payload(CTA_TUPLE_ORIG.rawValue) else { return nil }
            return (family, Array(tuple))
        }
        var deleted = 0
        for (family, tuple) in matching {
            var request = Self.message(IPCTNL_MSG_CT_DELETE, flags: NLM_F_ACK, family: Int32(family))
            request.put(UInt16(CTA_TUPLE_ORIG.rawValue) | UInt16(NLA_F_NESTED), bytes: tuple)
            do {
                try netlink.execute(request, operation: "delete conntrack entry")
                deleted += 1
            } catch where error.errno == ENOENT {
                continue
            }
        }
        return deleted
    }

    private static func message(_ type: cntl_msg_types, flags: Int32, family: Int32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(NFNL_SUBSYS_CTNETLINK << 8) | UInt16(type.rawValue), flags: flags)
        var header = nfgenmsg()
        header.nfgen_family = UInt8(family)
        header.version = UInt8(NFNETLINK_V0)
        message.putStruct(header)
        return message
    }
}
