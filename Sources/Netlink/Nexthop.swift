import CMnl
import Glibc
import IPAM
import NetlinkTransport

/// A nexthop object (`ip nexthop`): routes name it by id (`Route.nexthopID`) instead of each
/// carrying its own gateway. The kernel hashes a route's own next hop by device, not gateway,
/// so thousands of gateway routes through one device make every insertion walk all the others
/// (5,000 take 0.45 s, 2,500 a quarter of that); nexthop objects are kept by id, and a route
/// through one follows it when the nexthop is replaced.
public struct Nexthop: Sendable, Equatable {
    /// Any id but 0 (which asks the kernel to choose); ids are per network namespace.
    public var id: UInt32
    public var gateway: IPAddress?
    public var interfaceIndex: Int32
    /// RTNH_F_ONLINK: the gateway is reachable on the interface though no address covers it.
    public var onLink: Bool
    /// RTPROT_*: who added it.
    public var `protocol`: UInt8

    public init(id: UInt32, gateway: IPAddress?, interfaceIndex: Int32, onLink: Bool = false,
                protocol: UInt8 = UInt8(RTPROT_STATIC)) {
        self.id = id
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
        self.onLink = onLink
        self.protocol = `protocol`
    }
}

/// RTM_*NEXTHOP requests and replies.
enum NexthopMessage {
    static func add(_ nexthop: Nexthop, replace: Bool) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWNEXTHOP), flags: NLM_F_CREATE | NLM_F_ACK | (replace ? NLM_F_REPLACE : NLM_F_EXCL))
        var header = nhmsg()
        header.nh_family = addressFamily(nexthop.gateway?.family)
        header.nh_protocol = nexthop.protocol
        header.nh_flags = nexthop.onLink ? UInt32(RTNH_F_ONLINK) : 0
        message.putStruct(header)
        message.put(NHA_ID, u32: nexthop.id)
        message.put(NHA_OIF, u32: UInt32(bitPattern: nexthop.interfaceIndex))
        if let gateway = nexthop.gateway { message.put(NHA_GATEWAY, bytes: gateway.bytes) }
        return message
    }

    /// Routes through the nexthop go with it.
    static func delete(id: UInt32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELNEXTHOP), flags: NLM_F_ACK)
        message.putStruct(nhmsg())
        message.put(NHA_ID, u32: id)
        return message
    }

    /// The kernel filters by device (NHA_OIF); without one, every nexthop, groups included.
    static func dump(interfaceIndex: Int32?) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETNEXTHOP), flags: NLM_F_DUMP)
        message.putStruct(nhmsg())
        if let interfaceIndex { message.put(NHA_OIF, u32: UInt32(bitPattern: interfaceIndex)) }
        return message
    }

    static func get(id: UInt32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETNEXTHOP), flags: 0)
        message.putStruct(nhmsg())
        message.put(NHA_ID, u32: id)
        return message
    }

    /// Groups and blackholes have no device: interface index 0.
    static func parse(_ message: NetlinkMessage) -> Nexthop? {
        guard message.type == UInt16(RTM_NEWNEXTHOP),
              let header = message.familyHeader(nhmsg.self),
              let attributes = message.attributes(after: nhmsg.self, count: __NHA_MAX),
              let id = attributes.u32(NHA_ID)
        else { return nil }
        return Nexthop(id: id, gateway: attributes.ipAddress(NHA_GATEWAY), interfaceIndex: attributes.s32(NHA_OIF) ?? 0,
                       onLink: header.nh_flags & UInt32(RTNH_F_ONLINK) != 0, protocol: header.nh_protocol)
    }
}

extension NetlinkRequest {
    /// Adds the nexthop or replaces the one with its id (routes through it follow).
    public static func replaceNexthop(_ nexthop: Nexthop) -> NetlinkRequest {
        NetlinkRequest(NexthopMessage.add(nexthop, replace: true), operation: "replace nexthop \(nexthop.id)")
    }

    /// Deletes a nexthop and every route through it.
    public static func deleteNexthop(id: UInt32) -> NetlinkRequest {
        NetlinkRequest(NexthopMessage.delete(id: id), operation: "delete nexthop \(id)")
    }
}

extension NetlinkBatch {
    public mutating func replaceNexthop(_ nexthop: Nexthop) { append(.replaceNexthop(nexthop)) }
    public mutating func deleteNexthop(id: UInt32) { append(.deleteNexthop(id: id)) }
}

extension NetlinkHandle {
    public func replaceNexthop(_ nexthop: Nexthop) throws(NetlinkError) {
        try execute(.replaceNexthop(nexthop))
    }

    /// The single nexthops through one interface; without one, every nexthop (groups and
    /// blackholes with interface index 0).
    public func nexthops(interfaceIndex: Int32? = nil) throws(NetlinkError) -> [Nexthop] {
        try dump(NexthopMessage.dump(interfaceIndex: interfaceIndex), operation: "list nexthops", parse: NexthopMessage.parse)
    }

    /// Those of these nexthops that exist, asked in one write: an id nobody holds is no error.
    public func nexthops(ids: [UInt32]) throws(NetlinkError) -> [Nexthop] {
        guard !ids.isEmpty else { return [] }
        var found: [Nexthop] = []
        let requests = ids.map { NetlinkRequest(NexthopMessage.get(id: $0), operation: "get nexthop \($0)") }
        let outcomes = try channel.exchange(requests) { _, message in
            if let nexthop = NexthopMessage.parse(message) { found.append(nexthop) }
        }
        for (request, outcome) in zip(requests, outcomes) {
            if let failure = outcome.failure, failure.errno != ENOENT { throw NetlinkError(request.operation, failure) }
        }
        return found
    }
}
