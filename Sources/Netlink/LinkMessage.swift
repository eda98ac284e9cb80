import CMnl
import CSwnetShims
import Glibc
import IPAM

/// RTM_*LINK requests and replies.
enum LinkMessage {
    static func get(named name: String) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETLINK), flags: 0)
        message.putStruct(ifinfomsg())
        message.put(IFLA_IFNAME, string: name)
        message.put(IFLA_EXT_MASK, u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return message
    }

    static func get(index: Int32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETLINK), flags: 0)
        message.putStruct(header(index: index))
        message.put(IFLA_EXT_MASK, u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return message
    }

    static func dump() -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETLINK), flags: NLM_F_DUMP)
        message.putStruct(ifinfomsg())
        message.put(IFLA_EXT_MASK, u32: UInt32(RTEXT_FILTER_SKIP_STATS))
        return message
    }

    static func create(_ spec: LinkSpec) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWLINK), flags: NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK)
        message.putStruct(header(up: spec.up))
        message.put(IFLA_IFNAME, string: spec.name)
        if let mtu = spec.mtu { message.put(IFLA_MTU, u32: mtu) }
        if let mac = spec.mac { message.put(IFLA_ADDRESS, bytes: mac.bytes) }
        if let master = spec.masterIndex { message.put(IFLA_MASTER, u32: UInt32(bitPattern: master)) }
        if let group = spec.group { message.put(IFLA_GROUP, u32: group) }
        if let length = spec.txQueueLength { message.put(IFLA_TXQLEN, u32: length) }
        if let namespace = spec.namespace { message.put(IFLA_NET_NS_FD, u32: UInt32(namespace.fd)) }
        switch spec.kind {
        case .macvlan(let parent, _), .vlan(let parent, _, _):
            message.put(IFLA_LINK, u32: UInt32(bitPattern: parent))
        case .bridge, .veth, .vxlan:
            break
        }
        message.nest(IFLA_LINKINFO) { info in putKind(spec.kind, into: &info) }
        return message
    }

    private static func putKind(_ kind: LinkKind, into info: inout MessageBuilder) {
        let kindAttribute = IFLA_INFO_KIND
        let data = IFLA_INFO_DATA
        switch kind {
        case .bridge(let options):
            info.put(kindAttribute, string: "bridge")
            guard options.stp || options.vlanFiltering else { return }
            info.nest(data) { data in
                if options.stp { data.put(IFLA_BR_STP_STATE, u32: 1) }
                if options.vlanFiltering { data.put(IFLA_BR_VLAN_FILTERING, u8: 1) }
            }
        case .veth(let peer):
            info.put(kindAttribute, string: "veth")
            info.nest(data) { data in
                data.nest(VETH_INFO_PEER) { peerMessage in
                    // The peer is described like a link of its own: ifinfomsg, then attributes.
                    peerMessage.putStruct(header(up: peer.up))
                    peerMessage.put(IFLA_IFNAME, string: peer.name)
                    if let mtu = peer.mtu { peerMessage.put(IFLA_MTU, u32: mtu) }
                    if let mac = peer.mac { peerMessage.put(IFLA_ADDRESS, bytes: mac.bytes) }
                    if let namespace = peer.namespace {
                        peerMessage.put(IFLA_NET_NS_FD, u32: UInt32(namespace.fd))
                    }
                }
            }
        case .vxlan(let options):
            info.put(kindAttribute, string: "vxlan")
            info.nest(data) { data in putVXLAN(options, into: &data) }
        case .macvlan(_, let mode):
            info.put(kindAttribute, string: "macvlan")
            info.nest(data) { data in data.put(IFLA_MACVLAN_MODE, u32: mode.rawValue) }
        case .vlan(_, let id, let protocol802_1ad):
            info.put(kindAttribute, string: "vlan")
            info.nest(data) { data in
                data.put(IFLA_VLAN_ID, u16: id)
                data.put(IFLA_VLAN_PROTOCOL, be16: UInt16(protocol802_1ad ? ETH_P_8021AD : ETH_P_8021Q))
            }
        }
    }

    private static func putVXLAN(_ options: VXLANOptions, into data: inout MessageBuilder) {
        data.put(IFLA_VXLAN_ID, u32: options.vni)
        data.put(IFLA_VXLAN_PORT, be16: options.port)
        if let local = options.local {
            let type = local.family == .v4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6
            data.put(type, bytes: local.bytes)
        }
        if let remote = options.remote {
            let type = remote.family == .v4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6
            data.put(type, bytes: remote.bytes)
        }
        if let parent = options.parentIndex { data.put(IFLA_VXLAN_LINK, u32: UInt32(bitPattern: parent)) }
        data.put(IFLA_VXLAN_LEARNING, u8: options.learning ? 1 : 0)
        if let ttl = options.ttl { data.put(IFLA_VXLAN_TTL, u8: ttl) }
        if let checksum = options.udpChecksum { data.put(IFLA_VXLAN_UDP_CSUM, u8: checksum ? 1 : 0) }
    }

    static func change(index: Int32, _ changes: LinkChanges) -> MessageBuilder {
        change(header: header(index: index), name: nil, changes)
    }

    /// A change addressed by name (index 0 + IFLA_IFNAME), so it can follow the link's
    /// creation in the same batch, before its index is known.
    static func change(named name: String, _ changes: LinkChanges) -> MessageBuilder {
        change(header: header(), name: name, changes)
    }

    private static func change(header: ifinfomsg, name: String?, _ changes: LinkChanges) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWLINK), flags: NLM_F_ACK)
        var header = header
        if let up = changes.up {
            header.ifi_flags = up ? interfaceUpFlag : 0
            header.ifi_change = interfaceUpFlag
        }
        message.putStruct(header)
        if let name { message.put(IFLA_IFNAME, string: name) } else if let name = changes.name { message.put(IFLA_IFNAME, string: name) }
        if let mtu = changes.mtu { message.put(IFLA_MTU, u32: mtu) }
        if let mac = changes.mac { message.put(IFLA_ADDRESS, bytes: mac.bytes) }
        if let master = changes.masterIndex { message.put(IFLA_MASTER, u32: UInt32(bitPattern: master)) }
        if let group = changes.group { message.put(IFLA_GROUP, u32: group) }
        if let length = changes.txQueueLength { message.put(IFLA_TXQLEN, u32: length) }
        if let namespace = changes.namespace { message.put(IFLA_NET_NS_FD, u32: UInt32(namespace.fd)) }
        let ipv4Settings = [(IPV4_DEVCONF_ARP_NOTIFY, changes.arpNotify), (IPV4_DEVCONF_ROUTE_LOCALNET, changes.routeLocalnet)]
            .compactMap { key, value in value.map { (key, $0) } }
        if !ipv4Settings.isEmpty || changes.ipv6AddressGeneration != nil {
            message.nest(IFLA_AF_SPEC) { families in
                if !ipv4Settings.isEmpty {
                    families.nest(AF_INET) { inet in
                        inet.nest(IFLA_INET_CONF) { conf in
                            for (key, value) in ipv4Settings { conf.put(key, u32: value ? 1 : 0) }
                        }
                    }
                }
                if let mode = changes.ipv6AddressGeneration {
                    families.nest(AF_INET6) { inet6 in inet6.put(IFLA_INET6_ADDR_GEN_MODE, u8: mode.rawValue) }
                }
            }
        }
        return message
    }

    static func bringUp(named name: String) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWLINK), flags: NLM_F_ACK)
        message.putStruct(header(up: true))
        message.put(IFLA_IFNAME, string: name)
        return message
    }

    static func delete(index: Int32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELLINK), flags: NLM_F_ACK)
        message.putStruct(header(index: index))
        return message
    }

    static func delete(named name: String) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELLINK), flags: NLM_F_ACK)
        message.putStruct(ifinfomsg())
        message.put(IFLA_IFNAME, string: name)
        return message
    }

    /// Index 0 plus IFLA_GROUP: the kernel unregisters every link of the group in one batch.
    static func delete(group: UInt32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELLINK), flags: NLM_F_ACK)
        message.putStruct(ifinfomsg())
        message.put(IFLA_GROUP, u32: group)
        return message
    }

    static func parse(_ message: NetlinkMessage) -> Link? {
        guard message.type == UInt16(RTM_NEWLINK),
              let header = message.familyHeader(ifinfomsg.self),
              let attributes = message.attributes(after: ifinfomsg.self, count: __IFLA_MAX),
              let name = attributes.string(IFLA_IFNAME)
        else { return nil }
        let info = attributes.nested(IFLA_LINKINFO, count: __IFLA_INFO_MAX)
        let kind = info?.string(IFLA_INFO_KIND).map(InterfaceKind.init(kernelName:))
        var vxlan: VXLANOptions?
        if kind == .vxlan, let data = info?.nested(IFLA_INFO_DATA, count: __IFLA_VXLAN_MAX) {
            vxlan = parseVXLAN(data)
        }
        return Link(
            index: header.ifi_index,
            name: name,
            kind: kind,
            mtu: attributes.u32(IFLA_MTU) ?? 0,
            mac: attributes.mac(IFLA_ADDRESS),
            flags: header.ifi_flags,
            operState: attributes.u8(IFLA_OPERSTATE).flatMap(OperState.init(rawValue:)) ?? .unknown,
            masterIndex: attributes.s32(IFLA_MASTER),
            group: attributes.u32(IFLA_GROUP) ?? 0,
            linkIndex: attributes.s32(IFLA_LINK),
            linkNetnsID: attributes.s32(IFLA_LINK_NETNSID),
            txQueueLength: attributes.u32(IFLA_TXQLEN),
            vxlan: vxlan)
    }

    private static func parseVXLAN(_ data: Attributes) -> VXLANOptions? {
        guard let vni = data.u32(IFLA_VXLAN_ID) else { return nil }
        let unspecified = { (address: IPAddress?) in address.flatMap { $0.bytes.allSatisfy { $0 == 0 } ? nil : $0 } }
        let parent = data.s32(IFLA_VXLAN_LINK)
        return VXLANOptions(
            vni: vni,
            port: data.be16(IFLA_VXLAN_PORT) ?? 0,
            local: unspecified(data.ipAddress(IFLA_VXLAN_LOCAL) ?? data.ipAddress(IFLA_VXLAN_LOCAL6)),
            remote: unspecified(data.ipAddress(IFLA_VXLAN_GROUP) ?? data.ipAddress(IFLA_VXLAN_GROUP6)),
            parentIndex: parent == 0 ? nil : parent,
            learning: data.u8(IFLA_VXLAN_LEARNING).map { $0 != 0 } ?? true,
            ttl: data.u8(IFLA_VXLAN_TTL),
            udpChecksum: data.u8(IFLA_VXLAN_UDP_CSUM).map { $0 != 0 })
    }

    private static func header(index: Int32 = 0, up: Bool = false) -> ifinfomsg {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_UNSPEC)
        header.ifi_index = index
        if up {
            header.ifi_flags = interfaceUpFlag
            header.ifi_change = interfaceUpFlag
        }
        return header
    }
}

extension NetlinkHandle {
    /// The link with this name, or nil. One RTM_GETLINK by name, not a dump.
    public func link(named name: String) throws(NetlinkError) -> Link? {
        guard fitsInterfaceName(name) else { return nil }
        return try fetch(LinkMessage.get(named: name), operation: "get link \(name)", notFound: [ENODEV], parse: LinkMessage.parse)
    }

    public func link(index: Int32) throws(NetlinkError) -> Link? {
        try fetch(LinkMessage.get(index: index), operation: "get link \(index)", notFound: [ENODEV], parse: LinkMessage.parse)
    }

    /// Every link of the namespace.
    public func links() throws(NetlinkError) -> [Link] {
        try dump(LinkMessage.dump(), operation: "list links", parse: LinkMessage.parse)
    }

    /// Creates a link; fails with `isExists` when the name is taken. One request carries
    /// everything, including a veth peer's name, MAC, MTU and namespace and this side's
    /// master, MTU, MAC and up state — except a veth peer's up state: the kernel opens the
    /// peer before the pair is joined and refuses (ENOTCONN), so `VethPeer.up` costs a
    /// second request (and, for a peer in another namespace, a socket there). Callers that
    /// configure the peer's namespace anyway save that by bringing it up themselves.
    public func addLink(_ spec: LinkSpec) throws(NetlinkError) {
        let operation = "create link \(spec.name)"
        try checkInterfaceName(spec.name, operation: operation)
        var creation = spec
        var peerToBringUp: VethPeer?
        if case .veth(var peer) = spec.kind {
            try checkInterfaceName(peer.name, operation: operation)
            if peer.up {
                peer.up = false
                creation.kind = .veth(peer: peer)
                peerToBringUp = peer
            }
        }
        try execute(LinkMessage.create(creation), operation: operation)
        guard let peer = peerToBringUp else { return }
        let peerNetlink = try peer.namespace.map { namespace throws(NetlinkError) in try NetlinkHandle(namespace: namespace) } ?? self
        try peerNetlink.execute(LinkMessage.bringUp(named: peer.name), operation: "bring up veth peer \(peer.name)")
    }

    public func setLink(index: Int32, _ changes: LinkChanges) throws(NetlinkError) {
        let request = NetlinkRequest.setLink(index: index, changes)
        if let name = changes.name { try checkInterfaceName(name, operation: request.operation) }
        try execute(request)
    }

    public func deleteLink(index: Int32) throws(NetlinkError) {
        try execute(.deleteLink(index: index))
    }

    /// Whether the link has carrier, asked through ethtool: the kernel first applies the link's
    /// pending carrier change (normally left to its linkwatch worker), so a bridge port whose
    /// peer just came up is forwarding when this returns.
    @discardableResult
    public func synchronizeCarrier(named name: String) throws(NetlinkError) -> Bool {
        let result = swnet_ethtool_get_link(ioctlDescriptor, name)
        guard result >= 0 else { throw NetlinkError(operation: "read carrier of \(name)", errno: -result) }
        return result == 1
    }

    /// Whether transmit checksum offload is on.
    public func transmitChecksumOffload(named name: String) throws(NetlinkError) -> Bool {
        let result = swnet_ethtool_get_tx_checksum(ioctlDescriptor, name)
        guard result >= 0 else { throw NetlinkError(operation: "read tx checksum offload of \(name)", errno: -result) }
        return result == 1
    }

    /// Transmit checksum offload on or off: off works around NICs and drivers that compute
    /// wrong checksums for VXLAN-encapsulated packets (flannel#1279).
    public func setTransmitChecksumOffload(named name: String, enabled: Bool) throws(NetlinkError) {
        let result = swnet_ethtool_set_tx_checksum(ioctlDescriptor, name, enabled ? 1 : 0)
        guard result >= 0 else { throw NetlinkError(operation: "set tx checksum offload of \(name)", errno: -result) }
    }

    /// Deletes a link by name (a veth's peer goes with it).
    public func deleteLink(named name: String) throws(NetlinkError) {
        try execute(.deleteLink(named: name))
    }

    /// Deletes every link of a group in one request and one kernel unregister batch,
    /// much faster than one by one. A group without links is not an error.
    public func deleteLinks(group: UInt32) throws(NetlinkError) {
        do {
            try execute(LinkMessage.delete(group: group), operation: "delete links of group \(group)")
        } catch where error.errno == ENODEV {
            return
        }
    }
}

/// IFNAMSIZ is 16 bytes with the terminating NUL.
private func fitsInterfaceName(_ name: String) -> Bool { (1...15).contains(name.utf8.count) }

/// The kernel's answer to a long name is an opaque "Numerical result out of range"; this says why.
private func checkInterfaceName(_ name: String, operation: String) throws(NetlinkError) {
    guard fitsInterfaceName(name) else {
        throw NetlinkError(operation: operation, errno: ERANGE,
                           extendedAck: "interface name \"\(name)\" is not 1 to 15 bytes long")
    }
}
