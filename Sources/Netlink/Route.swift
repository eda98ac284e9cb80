import CMnl
import Glibc
import IPAM

/// A unicast route, or a local one (`isLocal`).
public struct Route: Sendable, Equatable {
    /// RT_TABLE_MAIN, where routes go unless told otherwise.
    public static let mainTable: UInt32 = 254

    /// 0.0.0.0/0 or ::/0 is the default route.
    public var destination: IPNetwork
    public var gateway: IPAddress?
    public var outputInterface: Int32?
    /// RTNH_F_ONLINK: the gateway is reachable on `outputInterface` even though no
    /// address of the interface covers it.
    public var onLink: Bool
    /// Routing table; 254 is main.
    public var table: UInt32
    /// RT_SCOPE_*: link (253) for a route straight onto an interface, universe (0) otherwise.
    public var scope: UInt8
    /// RTPROT_*: who added the route; static (4) for routes from this library by default.
    public var `protocol`: UInt8
    /// The route's priority; IPv6 fills in 1024 when none is given.
    public var metric: UInt32?
    public var preferredSource: IPAddress?
    /// A nexthop object to go through (RTA_NH_ID) instead of `gateway` and `outputInterface`,
    /// which a dump still reports (the nexthop's).
    public var nexthopID: UInt32?
    /// RTN_LOCAL: packets to `destination` are delivered to this host (`ip route add local`),
    /// arriving on `outputInterface`; dumps list unicast routes only.
    public var isLocal: Bool

    /// `scope` defaults to host scope for a local route, link scope when there is no gateway
    /// but an output interface (a directly connected network), universe otherwise.
    public init(destination: IPNetwork, gateway: IPAddress? = nil, outputInterface: Int32? = nil,
                onLink: Bool = false, table: UInt32 = Route.mainTable, scope: UInt8? = nil,
                protocol: UInt8 = UInt8(RTPROT_STATIC), metric: UInt32? = nil, preferredSource: IPAddress? = nil,
                nexthopID: UInt32? = nil, isLocal: Bool = false) {
        self.destination = destination
        self.gateway = gateway
        self.outputInterface = outputInterface
        self.onLink = onLink
        self.table = table
        let connected = gateway == nil && outputInterface != nil
        self.scope = scope ?? UInt8(isLocal ? RT_SCOPE_HOST.rawValue : connected ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
        self.protocol = `protocol`
        self.metric = metric
        self.preferredSource = preferredSource
        self.nexthopID = nexthopID
        self.isLocal = isLocal
    }

    /// The default route of the gateway's family via `gateway`.
    public static func defaultRoute(via gateway: IPAddress, outputInterface: Int32? = nil, onLink: Bool = false,
                                    table: UInt32 = Route.mainTable, metric: UInt32? = nil) -> Route {
        Route(destination: IPNetwork(address: IPAddress.unspecified(gateway.family), prefixLength: 0)!, gateway: gateway,
              outputInterface: outputInterface, onLink: onLink, table: table, metric: metric)
    }
}

/// Where the kernel would send a packet to one address (`ip route get`).
public struct RouteLookup: Sendable, Equatable {
    public var interfaceIndex: Int32
    /// The source address the kernel would pick.
    public var source: IPAddress?
    public var gateway: IPAddress?
    /// The destination is one of this namespace's own addresses (the interface is then lo).
    public var isLocal: Bool
}

/// RTM_*ROUTE requests and replies.
enum RouteMessage {
    static func add(_ route: Route, replace: Bool) -> MessageBuilder {
        let flags = NLM_F_CREATE | NLM_F_ACK | (replace ? NLM_F_REPLACE : NLM_F_EXCL)
        var message = MessageBuilder(type: UInt16(RTM_NEWROUTE), flags: flags)
        put(route, scope: route.scope, protocol: route.protocol, into: &message)
        return message
    }

    /// Scope "nowhere" and protocol 0 are the kernel's wildcards: the route is matched by
    /// destination, table, gateway, interface and metric, however it was added.
    static func delete(_ route: Route) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELROUTE), flags: NLM_F_ACK)
        put(route, scope: UInt8(RT_SCOPE_NOWHERE.rawValue), protocol: 0, into: &message)
        return message
    }

    /// Strict checking lets the kernel filter by table, type and protocol (0: any).
    static func dump(family: IPFamily, table: UInt32, protocol: UInt8) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETROUTE), flags: NLM_F_DUMP)
        var header = rtmsg()
        header.rtm_family = addressFamily(family)
        header.rtm_table = table < 256 ? UInt8(table) : UInt8(RT_TABLE_UNSPEC.rawValue)
        header.rtm_type = UInt8(RTN_UNICAST)
        header.rtm_protocol = `protocol`
        message.putStruct(header)
        message.put(RTA_TABLE.rawValue, u32: table)
        return message
    }

    static func lookup(_ destination: IPAddress) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETROUTE), flags: 0)
        var header = rtmsg()
        header.rtm_family = addressFamily(destination.family)
        header.rtm_dst_len = UInt8(destination.bytes.count * 8)
        message.putStruct(header)
        message.put(RTA_DST.rawValue, bytes: destination.bytes)
        return message
    }

    static func parseLookup(_ message: NetlinkMessage) -> RouteLookup? {
        guard message.type == UInt16(RTM_NEWROUTE),
              let header = message.familyHeader(rtmsg.self),
              let attributes = message.attributes(after: rtmsg.self, count: __RTA_MAX.rawValue),
              let interfaceIndex = attributes.s32(RTA_OIF.rawValue)
        else { return nil }
        return RouteLookup(interfaceIndex: interfaceIndex, source: attributes.ipAddress(RTA_PREFSRC.rawValue),
                           gateway: attributes.ipAddress(RTA_GATEWAY.rawValue), isLocal: header.rtm_type == UInt8(RTN_LOCAL))
    }

    private static func put(_ route: Route, scope: UInt8, protocol: UInt8, into message: inout MessageBuilder) {
        var header = rtmsg()
        header.rtm_family = addressFamily(route.destination.family)
        header.rtm_dst_len = UInt8(route.destination.prefixLength)
        // Tables past 255 only fit RTA_TABLE.
        header.rtm_table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
        header.rtm_protocol = `protocol`
        header.rtm_scope = scope
        header.rtm_type = UInt8(route.isLocal ? RTN_LOCAL : RTN_UNICAST)
        header.rtm_flags = route.onLink ? UInt32(RTNH_F_ONLINK) : 0
        message.putStruct(header)
        message.put(RTA_TABLE.rawValue, u32: route.table)
        if route.destination.prefixLength > 0 { message.put(RTA_DST.rawValue, bytes: route.destination.address.bytes) }
        if let gateway = route.gateway { message.put(RTA_GATEWAY.rawValue, bytes: gateway.bytes) }
        if let index = route.outputInterface { message.put(RTA_OIF.rawValue, u32: UInt32(bitPattern: index)) }
        if let metric = route.metric { message.put(RTA_PRIORITY.rawValue, u32: metric) }
        if let source = route.preferredSource { message.put(RTA_PREFSRC.rawValue, bytes: source.bytes) }
        if let id = route.nexthopID { message.put(RTA_NH_ID.rawValue, u32: id) }
    }

    static func parse(_ message: NetlinkMessage) -> Route? {
        guard message.type == UInt16(RTM_NEWROUTE),
              let header = message.familyHeader(rtmsg.self),
              header.rtm_type == UInt8(RTN_UNICAST),
              let attributes = message.attributes(after: rtmsg.self, count: __RTA_MAX.rawValue)
        else { return nil }
        let family: IPFamily
        switch Int32(header.rtm_family) {
        case AF_INET: family = .v4
        case AF_INET6: family = .v6
        default: return nil
        }
        let address = attributes.ipAddress(RTA_DST.rawValue) ?? IPAddress.unspecified(family)
        guard let destination = IPNetwork(address: address, prefixLength: Int(header.rtm_dst_len)) else { return nil }
        // An IPv4 route through an IPv6 next hop reports it as RTA_VIA (family, then address).
        let via = attributes.payload(RTA_VIA.rawValue).flatMap { IPAddress(bytes: Array($0.dropFirst(2))) }
        return Route(destination: destination,
                     gateway: attributes.ipAddress(RTA_GATEWAY.rawValue) ?? via,
                     outputInterface: attributes.s32(RTA_OIF.rawValue),
                     onLink: header.rtm_flags & UInt32(RTNH_F_ONLINK) != 0,
                     table: attributes.u32(RTA_TABLE.rawValue) ?? UInt32(header.rtm_table),
                     scope: header.rtm_scope,
                     protocol: header.rtm_protocol,
                     metric: attributes.u32(RTA_PRIORITY.rawValue),
                     preferredSource: attributes.ipAddress(RTA_PREFSRC.rawValue),
                     nexthopID: attributes.u32(RTA_NH_ID.rawValue))
    }
}

extension NetlinkHandle {
    /// Adds a route; fails with `isExists` when it is there already.
    public func addRoute(_ route: Route) throws(NetlinkError) {
        try execute(.addRoute(route))
    }

    /// Adds the route or replaces the one with the same destination, table and metric.
    public func replaceRoute(_ route: Route) throws(NetlinkError) {
        try execute(.replaceRoute(route))
    }

    /// Deletes the route matching destination, table and, where given, gateway,
    /// output interface and metric.
    public func deleteRoute(_ route: Route) throws(NetlinkError) {
        try execute(.deleteRoute(route))
    }

    /// The kernel's route to one address; nil when it has none (unreachable).
    public func lookupRoute(to destination: IPAddress) throws(NetlinkError) -> RouteLookup? {
        try fetch(RouteMessage.lookup(destination), operation: "look up route to \(destination)",
                  notFound: [ENETUNREACH, EHOSTUNREACH], parse: RouteMessage.parseLookup)
    }

    /// The unicast routes of one table (main by default), only those one protocol added when
    /// given (the kernel filters them). A table that does not exist is empty.
    public func routes(family: IPFamily, table: UInt32 = Route.mainTable, protocol: UInt8? = nil) throws(NetlinkError) -> [Route] {
        do {
            let routes = try dump(RouteMessage.dump(family: family, table: table, protocol: `protocol` ?? 0),
                                  operation: "list routes", parse: RouteMessage.parse)
            return routes.filter { $0.table == table && (`protocol` == nil || $0.protocol == `protocol`) }
        } catch where error.errno == ENOENT {
            return []
        }
    }
}
