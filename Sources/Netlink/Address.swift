import CMnl
import Glibc
import IPAM

/// An address assigned to an interface.
public struct AddressEntry: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var address: InterfaceAddress
    /// RT_SCOPE_*: 0 universe, 253 link, 254 host.
    public var scope: UInt8
    /// IFA_F_* flags (from IFA_FLAGS when the kernel sends it, so all 32 bits).
    public var flags: UInt32

    public init(interfaceIndex: Int32, address: InterfaceAddress, scope: UInt8, flags: UInt32) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.scope = scope
        self.flags = flags
    }
}

/// RTM_*ADDR requests and replies.
enum AddressMessage {
    static func add(_ address: InterfaceAddress, interfaceIndex: Int32, noDAD: Bool) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWADDR), flags: NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK)
        putAddress(address, interfaceIndex: interfaceIndex, into: &message)
        if case .v4(let ip) = address.address, address.prefixLength < 31 {
            // The directed broadcast, as `ip addr add … brd +` sets it; /31 and /32 have none.
            let hostMask: UInt32 = address.prefixLength == 0 ? .max : (1 << (32 - UInt32(address.prefixLength))) - 1
            let broadcast = ip.value | hostMask
            message.put(IFA_BROADCAST, bytes: (0..<4).map { UInt8(truncatingIfNeeded: broadcast >> (24 - 8 * $0)) })
        }
        if noDAD { message.put(IFA_FLAGS, u32: UInt32(IFA_F_NODAD)) }
        return message
    }

    static func delete(_ address: InterfaceAddress, interfaceIndex: Int32) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_DELADDR), flags: NLM_F_ACK)
        putAddress(address, interfaceIndex: interfaceIndex, into: &message)
        return message
    }

    /// With strict checking the kernel itself filters by interface index.
    static func dump(family: IPFamily?, interfaceIndex: Int32?) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_GETADDR), flags: NLM_F_DUMP)
        var header = ifaddrmsg()
        header.ifa_family = addressFamily(family)
        header.ifa_index = UInt32(bitPattern: interfaceIndex ?? 0)
        message.putStruct(header)
        return message
    }

    private static func putAddress(_ address: InterfaceAddress, interfaceIndex: Int32, into message: inout MessageBuilder) {
        var header = ifaddrmsg()
        header.ifa_family = addressFamily(address.address.family)
        header.ifa_prefixlen = UInt8(address.prefixLength)
        header.ifa_index = UInt32(bitPattern: interfaceIndex)
        message.putStruct(header)
        message.put(IFA_LOCAL, bytes: address.address.bytes)
        message.put(IFA_ADDRESS, bytes: address.address.bytes)
    }

    static func parse(_ message: NetlinkMessage) -> AddressEntry? {
        guard message.type == UInt16(RTM_NEWADDR),
              let header = message.familyHeader(ifaddrmsg.self),
              let attributes = message.attributes(after: ifaddrmsg.self, count: __IFA_MAX),
              // IFA_LOCAL is this host's address; IFA_ADDRESS differs from it only on
              // point-to-point links (the peer), and IPv6 usually sends only IFA_ADDRESS.
              let ip = attributes.ipAddress(IFA_LOCAL) ?? attributes.ipAddress(IFA_ADDRESS),
              let address = InterfaceAddress(address: ip, prefixLength: Int(header.ifa_prefixlen))
        else { return nil }
        return AddressEntry(interfaceIndex: Int32(bitPattern: header.ifa_index), address: address,
                            scope: header.ifa_scope, flags: attributes.u32(IFA_FLAGS) ?? UInt32(header.ifa_flags))
    }
}

func addressFamily(_ family: IPFamily?) -> UInt8 {
    switch family {
    case .v4: UInt8(AF_INET)
    case .v6: UInt8(AF_INET6)
    case nil: UInt8(AF_UNSPEC)
    }
}

extension NetlinkHandle {
    /// Adds an address (IFA_LOCAL and IFA_ADDRESS, plus the broadcast for IPv4). `noDAD`
    /// skips IPv6 duplicate address detection so the address is usable at once.
    public func addAddress(_ address: InterfaceAddress, interfaceIndex: Int32, noDAD: Bool = false) throws(NetlinkError) {
        try execute(.addAddress(address, interfaceIndex: interfaceIndex, noDAD: noDAD))
    }

    public func deleteAddress(_ address: InterfaceAddress, interfaceIndex: Int32) throws(NetlinkError) {
        try execute(.deleteAddress(address, interfaceIndex: interfaceIndex))
    }

    public func addresses(family: IPFamily? = nil, interfaceIndex: Int32? = nil) throws(NetlinkError) -> [AddressEntry] {
        let entries = try dump(AddressMessage.dump(family: family, interfaceIndex: interfaceIndex),
                               operation: "list addresses", parse: AddressMessage.parse)
        // The kernel filtered already; this only guards against one that ignores the filter.
        return entries.filter { entry in
            (family == nil || entry.address.address.family == family)
                && (interfaceIndex == nil || entry.interfaceIndex == interfaceIndex)
        }
    }
}
