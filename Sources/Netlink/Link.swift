import IPAM

/// A network interface as the kernel reports it.
public struct Link: Sendable, Equatable {
    public var index: Int32
    public var name: String
    /// IFLA_INFO_KIND; nil for devices without link info (lo, physical NICs).
    public var kind: InterfaceKind?
    public var mtu: UInt32
    public var mac: MACAddress?
    /// IFF_* flags.
    public var flags: UInt32
    public var operState: OperState
    public var masterIndex: Int32?
    public var group: UInt32
    /// IFLA_LINK: the device this one sits on or is paired with (a veth's peer, a macvlan's parent).
    public var linkIndex: Int32?
    /// The namespace of `linkIndex`'s device, as an id local to this namespace, when it is another one.
    public var linkNetnsID: Int32?
    public var txQueueLength: UInt32?
    /// The VXLAN settings when `kind == .vxlan`.
    public var vxlan: VXLANOptions?

    /// Administratively up (IFF_UP).
    public var isUp: Bool { flags & interfaceUpFlag != 0 }
    /// The loopback device (IFF_LOOPBACK).
    public var isLoopback: Bool { flags & 0x8 != 0 }
}

/// What kind of device a link is, as the kernel names it in IFLA_INFO_KIND ("bridge", "veth", …).
public enum InterfaceKind: Sendable, Hashable, CustomStringConvertible {
    case bridge, veth, vxlan, macvlan, vlan
    /// A kind swnet makes no decision on ("dummy", "wireguard", …), by the kernel's name.
    case other(String)

    public init(kernelName: String) {
        self = switch kernelName {
        case "bridge": .bridge
        case "veth": .veth
        case "vxlan": .vxlan
        case "macvlan": .macvlan
        case "vlan": .vlan
        default: .other(kernelName)
        }
    }

    /// The kernel's name: "bridge", "veth", …
    public var description: String {
        switch self {
        case .bridge: "bridge"
        case .veth: "veth"
        case .vxlan: "vxlan"
        case .macvlan: "macvlan"
        case .vlan: "vlan"
        case .other(let name): name
        }
    }
}

/// RFC 2863 operational state (IFLA_OPERSTATE).
public enum OperState: UInt8, Sendable {
    case unknown = 0, notPresent, down, lowerLayerDown, testing, dormant, up
}

/// A link to create.
public struct LinkSpec: Sendable {
    public var name: String
    public var kind: LinkKind
    public var mtu: UInt32?
    public var mac: MACAddress?
    public var masterIndex: Int32?
    public var up: Bool
    /// Creates the link directly in this namespace (IFLA_NET_NS_FD); `masterIndex` and the
    /// kind's parent indexes then refer to links of that namespace.
    public var namespace: NetworkNamespace?
    public var group: UInt32?
    public var txQueueLength: UInt32?

    public init(name: String, kind: LinkKind, mtu: UInt32? = nil, mac: MACAddress? = nil,
                masterIndex: Int32? = nil, up: Bool = false, namespace: NetworkNamespace? = nil,
                group: UInt32? = nil, txQueueLength: UInt32? = nil) {
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.masterIndex = masterIndex
        self.up = up
        self.namespace = namespace
        self.group = group
        self.txQueueLength = txQueueLength
    }
}

/// IFLA_INET6_ADDR_GEN_MODE values.
public enum IPv6AddressGeneration: UInt8, Sendable {
    case eui64 = 0, none = 1, stablePrivacy = 2, random = 3
}

public enum LinkKind: Sendable {
    case bridge(BridgeOptions = BridgeOptions())
    case veth(peer: VethPeer)
    case vxlan(VXLANOptions)
    case macvlan(parentIndex: Int32, mode: MacvlanMode)
    /// 802.1Q (or 802.1ad when `protocol802_1ad`) VLAN on a parent link.
    case vlan(parentIndex: Int32, id: UInt16, protocol802_1ad: Bool = false)
}

/// Bridge settings; the kernel defaults (STP off, no VLAN filtering) are what containers want.
public struct BridgeOptions: Sendable {
    public var stp: Bool
    public var vlanFiltering: Bool

    public init(stp: Bool = false, vlanFiltering: Bool = false) {
        self.stp = stp
        self.vlanFiltering = vlanFiltering
    }
}

/// The other end of a veth pair, created in the same request as the first end.
public struct VethPeer: Sendable {
    public var name: String
    public var mac: MACAddress?
    public var mtu: UInt32?
    /// Creates the peer directly inside this namespace (e.g. a container's).
    public var namespace: NetworkNamespace?
    public var up: Bool

    public init(name: String, mac: MACAddress? = nil, mtu: UInt32? = nil,
                namespace: NetworkNamespace? = nil, up: Bool = false) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.namespace = namespace
        self.up = up
    }
}

/// VXLAN device settings; also what `Link.vxlan` reports back.
public struct VXLANOptions: Sendable, Equatable {
    public var vni: UInt32
    /// UDP destination port (4789 is the IANA one).
    public var port: UInt16
    /// Source address of the tunnel packets.
    public var local: IPAddress?
    /// IFLA_VXLAN_GROUP: the unicast remote VTEP or the multicast group. Without it, the
    /// destinations come from FDB entries.
    public var remote: IPAddress?
    /// IFLA_VXLAN_LINK: the underlay device.
    public var parentIndex: Int32?
    /// Learn remote MACs from received packets; overlays with static FDB entries turn it off.
    public var learning: Bool
    public var ttl: UInt8?
    public var udpChecksum: Bool?

    public init(vni: UInt32, port: UInt16 = 4789, local: IPAddress? = nil, remote: IPAddress? = nil,
                parentIndex: Int32? = nil, learning: Bool = true, ttl: UInt8? = nil, udpChecksum: Bool? = nil) {
        self.vni = vni
        self.port = port
        self.local = local
        self.remote = remote
        self.parentIndex = parentIndex
        self.learning = learning
        self.ttl = ttl
        self.udpChecksum = udpChecksum
    }
}

/// MACVLAN_MODE_* values.
public enum MacvlanMode: UInt32, Sendable {
    case `private` = 1, vepa = 2, bridge = 4, passthru = 8, source = 16
}

/// Changes to an existing link; nil fields stay as they are.
public struct LinkChanges: Sendable {
    public var name: String?
    public var mtu: UInt32?
    public var mac: MACAddress?
    public var up: Bool?
    /// The bridge to enslave the link to; 0 removes it from its master.
    public var masterIndex: Int32?
    /// Moves the link into this namespace (it may get another index there); the kernel
    /// moves it first, so the other changes (a master index too) apply over there.
    public var namespace: NetworkNamespace?
    public var group: UInt32?
    public var txQueueLength: UInt32?
    /// net.ipv4.conf.IF.arp_notify: the kernel announces the link's IPv4 addresses with a
    /// gratuitous ARP when it comes up (set it before the link goes up).
    public var arpNotify: Bool?
    /// net.ipv4.conf.IF.route_localnet: route 127.0.0.0/8 on this link, which DNAT of
    /// loopback-addressed traffic to a container behind it needs.
    public var routeLocalnet: Bool?
    /// How the kernel makes IPv6 link-local addresses; `.none` keeps a link out of IPv6
    /// (no link-local address, no DAD or MLD traffic flooded across a bridge).
    public var ipv6AddressGeneration: IPv6AddressGeneration?

    public init(name: String? = nil, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool? = nil,
                masterIndex: Int32? = nil, namespace: NetworkNamespace? = nil, group: UInt32? = nil,
                txQueueLength: UInt32? = nil, arpNotify: Bool? = nil, routeLocalnet: Bool? = nil,
                ipv6AddressGeneration: IPv6AddressGeneration? = nil) {
        self.name = name
        self.mtu = mtu
        self.mac = mac
        self.up = up
        self.masterIndex = masterIndex
        self.namespace = namespace
        self.group = group
        self.txQueueLength = txQueueLength
        self.arpNotify = arpNotify
        self.routeLocalnet = routeLocalnet
        self.ipv6AddressGeneration = ipv6AddressGeneration
    }
}

/// IFF_UP.
let interfaceUpFlag: UInt32 = 0x1
