import CMnl
import Glibc
import IPAM

/// An ARP (IPv4) or NDP (IPv6) neighbour entry.
public struct Neighbor: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var address: IPAddress
    public var mac: MACAddress?
    /// NUD_* state; permanent entries never expire nor get re-resolved.
    public var state: UInt16
    /// NTF_* flags.
    public var flags: UInt8

    public init(interfaceIndex: Int32, address: IPAddress, mac: MACAddress?,
                state: UInt16 = UInt16(NUD_PERMANENT), flags: UInt8 = 0) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.mac = mac
        self.state = state
        self.flags = flags
    }

    /// Added by hand (or by an overlay): never expires, never re-resolved.
    public var isPermanent: Bool { state & UInt16(NUD_PERMANENT) != 0 }
}

/// An entry of a bridge's or a VXLAN device's forwarding database (AF_BRIDGE neighbour).
public struct FDBEntry: Sendable, Equatable {
    /// The VXLAN device, or the bridge port.
    public var interfaceIndex: Int32
    /// All zeros on a VXLAN device: where broadcast, unknown unicast and multicast go.
    public var mac: MACAddress
    /// NDA_DST: the remote VTEP for a VXLAN entry.
    public var destination: IPAddress?
    /// NDA_VNI when it differs from the device's own.
    public var vni: UInt32?
    /// NDA_PORT when it differs from the device's own.
    public var port: UInt16?
    public var flags: FDBFlags
    public var state: FDBState

    public init(interfaceIndex: Int32, mac: MACAddress, destination: IPAddress? = nil, vni: UInt32? = nil,
                port: UInt16? = nil, flags: FDBFlags = .device, state: FDBState = .permanent) {
        self.interfaceIndex = interfaceIndex
        self.mac = mac
        self.destination = destination
        self.vni = vni
        self.port = port
        self.flags = flags
        self.state = state
    }
}

/// Which database an FDB entry lives in (NTF_* bits; others the kernel reports are kept).
public struct FDBFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// NTF_SELF: the device's own table, e.g. a VXLAN device's remote destinations.
    public static let device = FDBFlags(rawValue: UInt8(NTF_SELF))
    /// NTF_MASTER: the table of the bridge the port belongs to.
    public static let master = FDBFlags(rawValue: UInt8(NTF_MASTER))
}

/// How an FDB entry behaves. On a bridge "permanent" means *local*: frames for that MAC
/// are delivered to the bridge itself; an entry that forwards to a port must be `static`.
public enum FDBState: Sendable, Equatable {
    /// NUD_PERMANENT.
    case permanent
    /// NUD_NOARP: never ages, forwards to the port.
    case `static`
    /// NUD_REACHABLE: learned or added to age out like a learned one.
    case dynamic

    var nudState: UInt16 {
        switch self {
        case .permanent: UInt16(NUD_PERMANENT)
        case .static: UInt16(NUD_NOARP)
        case .dynamic: UInt16(NUD_REACHABLE)
        }
    }

    init(nudState: UInt16) {
        if nudState & UInt16(NUD_PERMANENT) != 0 {
            self = .permanent
        } else if nudState & UInt16(NUD_NOARP) != 0 {
            self = .static
        } else {
            self = .dynamic
        }
    }
}

/// RTM_*NEIGH requests and replies, for IP neighbours and AF_BRIDGE FDB entries.
enum NeighborMessage {
    static func add(_ neighbor: Neighbor, replace: Bool) -> MessageBuilder {
        let flags = NLM_F_CREATE | NLM_F_ACK | (replace ? NLM_F_REPLACE : NLM_F_EXCL)
        var message = MessageBuilder(type: UInt16(RTM_NEWNEIGH), flags: flags)
        put(neighbor, into: &message)
        return message
    }

    static func delete(_ neighbor: Neighbor) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELNEIGH), flags: NLM_F_ACK)
        put(neighbor, into: &message)
        return message
    }

    private static func put(_ neighbor: Neighbor, into message: inout MessageBuilder) {
        var header = ndmsg()
        header.ndm_family = addressFamily(neighbor.address.family)
        header.ndm_ifindex = neighbor.interfaceIndex
        header.ndm_state = neighbor.state
        header.ndm_flags = neighbor.flags
        message.putStruct(header)
        message.put(NDA_DST, bytes: neighbor.address.bytes)
        if let mac = neighbor.mac { message.put(NDA_LLADDR, bytes: mac.bytes) }
    }

    /// Strict checking wants the index as NDA_IFINDEX, not in the header.
    static func dump(family: IPFamily?, interfaceIndex: Int32?) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETNEIGH), flags: NLM_F_DUMP)
        var header = ndmsg()
        header.ndm_family = addressFamily(family)
        message.putStruct(header)
        if let index = interfaceIndex { message.put(NDA_IFINDEX, u32: UInt32(bitPattern: index)) }
        return message
    }

    static func parse(_ message: NetlinkMessage) -> Neighbor? {
        guard message.type == UInt16(RTM_NEWNEIGH),
              let header = message.familyHeader(ndmsg.self),
              Int32(header.ndm_family) == AF_INET || Int32(header.ndm_family) == AF_INET6,
              let attributes = message.attributes(after: ndmsg.self, count: __NDA_MAX),
              let address = attributes.ipAddress(NDA_DST)
        else { return nil }
        return Neighbor(interfaceIndex: header.ndm_ifindex, address: address, mac: attributes.mac(NDA_LLADDR),
                        state: header.ndm_state, flags: header.ndm_flags)
    }

    /// NLM_F_APPEND adds another destination to a VXLAN entry (several remotes for the
    /// all-zeros flood entry); NLM_F_REPLACE makes this the entry's only destination.
    static func addFDB(_ entry: FDBEntry, replace: Bool) -> MessageBuilder {
        let flags = NLM_F_CREATE | NLM_F_ACK | (replace ? NLM_F_REPLACE : NLM_F_APPEND)
        var message = MessageBuilder(type: UInt16(RTM_NEWNEIGH), flags: flags)
        put(entry, into: &message)
        return message
    }

    static func deleteFDB(_ entry: FDBEntry) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELNEIGH), flags: NLM_F_ACK)
        put(entry, into: &message)
        return message
    }

    private static func put(_ entry: FDBEntry, into message: inout MessageBuilder) {
        var header = ndmsg()
        header.ndm_family = UInt8(AF_BRIDGE)
        header.ndm_ifindex = entry.interfaceIndex
        header.ndm_state = entry.state.nudState
        header.ndm_flags = entry.flags.rawValue
        message.putStruct(header)
        message.put(NDA_LLADDR, bytes: entry.mac.bytes)
        if let destination = entry.destination { message.put(NDA_DST, bytes: destination.bytes) }
        if let port = entry.port { message.put(NDA_PORT, be16: port) }
        if let vni = entry.vni { message.put(NDA_VNI, u32: vni) }
    }

    static func dumpFDB(interfaceIndex: Int32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETNEIGH), flags: NLM_F_DUMP)
        var header = ndmsg()
        header.ndm_family = UInt8(AF_BRIDGE)
        header.ndm_ifindex = interfaceIndex
        message.putStruct(header)
        return message
    }

    static func parseFDB(_ message: NetlinkMessage) -> FDBEntry? {
        guard message.type == UInt16(RTM_NEWNEIGH),
              let header = message.familyHeader(ndmsg.self),
              Int32(header.ndm_family) == AF_BRIDGE,
              let attributes = message.attributes(after: ndmsg.self, count: __NDA_MAX),
              let mac = attributes.mac(NDA_LLADDR)
        else { return nil }
        var flags = FDBFlags(rawValue: header.ndm_flags)
        // A bridge reports its entries with no NTF bits, naming itself in NDA_MASTER instead.
        if attributes.has(NDA_MASTER) { flags.insert(.master) }
        return FDBEntry(interfaceIndex: header.ndm_ifindex, mac: mac, destination: attributes.ipAddress(NDA_DST),
                        vni: attributes.u32(NDA_VNI), port: attributes.be16(NDA_PORT),
                        flags: flags, state: FDBState(nudState: header.ndm_state))
    }
}

extension NetlinkHandle {
    /// Adds or replaces a neighbour entry (what overlays use to pin a remote's MAC).
    public func setNeighbor(_ neighbor: Neighbor) throws(NetlinkError) {
        try execute(.setNeighbor(neighbor))
    }

    /// Adds a neighbour entry; fails with `isExists` when there is one for the address.
    public func addNeighbor(_ neighbor: Neighbor) throws(NetlinkError) {
        try execute(.addNeighbor(neighbor))
    }

    public func deleteNeighbor(_ neighbor: Neighbor) throws(NetlinkError) {
        try execute(.deleteNeighbor(neighbor))
    }

    public func neighbors(family: IPFamily? = nil, interfaceIndex: Int32? = nil) throws(NetlinkError) -> [Neighbor] {
        let entries = try dump(NeighborMessage.dump(family: family, interfaceIndex: interfaceIndex),
                               operation: "list neighbours", parse: NeighborMessage.parse)
        return entries.filter { entry in
            (family == nil || entry.address.family == family)
                && (interfaceIndex == nil || entry.interfaceIndex == interfaceIndex)
        }
    }

    /// Adds an FDB entry, or one more destination to an existing VXLAN entry (NLM_F_APPEND):
    /// the all-zeros MAC with one `addFDB` per remote VTEP is the flood list of an overlay.
    /// Adding a destination that is there already changes nothing.
    public func addFDB(_ entry: FDBEntry) throws(NetlinkError) {
        try execute(.addFDB(entry))
    }

    /// Adds an FDB entry or replaces it so this is its only destination (NLM_F_REPLACE):
    /// for a MAC that moved to another VTEP.
    public func setFDB(_ entry: FDBEntry) throws(NetlinkError) {
        try execute(.setFDB(entry))
    }

    /// Deletes an FDB entry; with a destination, only that destination of a VXLAN entry.
    public func deleteFDB(_ entry: FDBEntry) throws(NetlinkError) {
        try execute(.deleteFDB(entry))
    }

    /// The FDB entries of a VXLAN device or bridge port: its own (`.device`) and, for a
    /// port, its bridge's entries for it (`.master`).
    public func fdb(interfaceIndex: Int32) throws(NetlinkError) -> [FDBEntry] {
        let entries = try dump(NeighborMessage.dumpFDB(interfaceIndex: interfaceIndex),
                               operation: "list fdb of link \(interfaceIndex)", parse: NeighborMessage.parseFDB)
        return entries.filter { $0.interfaceIndex == interfaceIndex }
    }
}
