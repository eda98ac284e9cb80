import IPAM
@testable import Netlink
import Testing

/// Requests compared byte for byte with the hand-written wire format; no privileges needed.
@Suite("Request encoding")
struct EncodingTests {
    @Test func vethIntoAnotherNamespaceWithMasterUpMTUAndMACIsOneMessage() throws {
        let namespace = try NetworkNamespace.current()
        let hostMAC = MACAddress("02:00:00:00:00:01")!, peerMAC = MACAddress("02:00:00:00:00:02")!
        let spec = LinkSpec(name: "veth1", kind: .veth(peer: VethPeer(name: "eth0", mac: peerMAC, mtu: 1450, namespace: namespace)),
                            mtu: 1450, mac: hostMAC, masterIndex: 3, up: true)
        let fd = UInt32(namespace.fd)
        let expected = message(
            type: Wire.newLink, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            ifinfo(flags: 1, change: 1),                               // IFF_UP set and changed
            attribute(3, string: "veth1"),                              // IFLA_IFNAME
            attribute(4, u32: 1450),                                    // IFLA_MTU
            attribute(1, hostMAC.bytes),                                // IFLA_ADDRESS
            attribute(10, u32: 3),                                      // IFLA_MASTER
            nest(18,                                                    // IFLA_LINKINFO
                 attribute(1, string: "veth"),                          //   IFLA_INFO_KIND
                 nest(2,                                                //   IFLA_INFO_DATA
                      nest(1,                                           //     VETH_INFO_PEER
                           ifinfo(),
                           attribute(3, string: "eth0"),
                           attribute(4, u32: 1450),
                           attribute(1, peerMAC.bytes),
                           attribute(28, u32: fd)))))                   //       IFLA_NET_NS_FD
        #expect(LinkMessage.create(spec).bytes == expected)
    }

    @Test func linkInAnotherNamespaceWithGroupAndQueueLength() throws {
        let namespace = try NetworkNamespace.current()
        let spec = LinkSpec(name: "br9", kind: .bridge(BridgeOptions(stp: true)), namespace: namespace, group: 5, txQueueLength: 500)
        let expected = message(
            type: Wire.newLink, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            ifinfo(),
            attribute(3, string: "br9"),
            attribute(27, u32: 5),                                      // IFLA_GROUP
            attribute(13, u32: 500),                                    // IFLA_TXQLEN
            attribute(28, u32: UInt32(namespace.fd)),                   // IFLA_NET_NS_FD
            nest(18, attribute(1, string: "bridge"), nest(2, attribute(5, u32: 1))))  // IFLA_BR_STP_STATE
        #expect(LinkMessage.create(spec).bytes == expected)
    }

    @Test func vlanCarriesParentIDAndProtocol() {
        let dot1q = LinkSpec(name: "eth0.100", kind: .vlan(parentIndex: 2, id: 100))
        let expected = message(
            type: Wire.newLink, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            ifinfo(),
            attribute(3, string: "eth0.100"),
            attribute(5, u32: 2),                                       // IFLA_LINK: the parent
            nest(18, attribute(1, string: "vlan"),
                 nest(2, attribute(1, le16(100)),                       // IFLA_VLAN_ID, host order
                      attribute(5, be16(0x8100)))))                     // IFLA_VLAN_PROTOCOL, network order
        #expect(LinkMessage.create(dot1q).bytes == expected)
        let qinq = LinkMessage.create(LinkSpec(name: "s", kind: .vlan(parentIndex: 2, id: 7, protocol802_1ad: true))).bytes
        #expect(qinq.suffix(4) == [0x88, 0xa8, 0, 0])
    }

    @Test func vxlanPortGoesInNetworkOrder() throws {
        let options = VXLANOptions(vni: 0x10203, port: 4789, local: IPAddress("192.0.2.1"), remote: IPAddress("fd00::1"),
                                   parentIndex: 4, learning: false, ttl: 8, udpChecksum: false)
        let expected = message(
            type: Wire.newLink, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            ifinfo(),
            attribute(3, string: "vx0"),
            nest(18, attribute(1, string: "vxlan"),
                 nest(2,
                      attribute(1, u32: 0x10203),                       // IFLA_VXLAN_ID
                      attribute(15, [0x12, 0xb5]),                      // IFLA_VXLAN_PORT 4789, big-endian
                      attribute(4, [192, 0, 2, 1]),                     // IFLA_VXLAN_LOCAL
                      attribute(16, IPAddress("fd00::1")!.bytes),       // IFLA_VXLAN_GROUP6
                      attribute(3, u32: 4),                             // IFLA_VXLAN_LINK
                      attribute(7, [0]),                                // IFLA_VXLAN_LEARNING
                      attribute(5, [8]),                                // IFLA_VXLAN_TTL
                      attribute(18, [0]))))                             // IFLA_VXLAN_UDP_CSUM
        #expect(LinkMessage.create(LinkSpec(name: "vx0", kind: .vxlan(options))).bytes == expected)
    }

    @Test func getLinkByNameIsOneRequestNotADump() {
        let expected = message(type: Wire.getLink, flags: Wire.request, ifinfo(),
                               attribute(3, string: "eth0"), attribute(29, u32: 1 << 3))  // IFLA_EXT_MASK: skip stats
        #expect(LinkMessage.get(named: "eth0").bytes == expected)
    }

    @Test func setLinkOnlyTouchesWhatChanges() throws {
        let down = LinkMessage.change(index: 7, LinkChanges(up: false, masterIndex: 0)).bytes
        #expect(down == message(type: Wire.newLink, flags: Wire.request | Wire.ack,
                                ifinfo(index: 7, flags: 0, change: 1), attribute(10, u32: 0)))
        let rename = LinkMessage.change(index: 7, LinkChanges(name: "x")).bytes
        #expect(rename == message(type: Wire.newLink, flags: Wire.request | Wire.ack, ifinfo(index: 7), attribute(3, string: "x")))
    }

    @Test func ipv4AddressWithBroadcast() throws {
        let address = try #require(InterfaceAddress(address: IPAddress("10.0.5.7")!, prefixLength: 22))
        let expected = message(
            type: Wire.newAddress, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            [2, 22, 0, 0] + le32(9),                                    // ifaddrmsg: AF_INET, /22, index 9
            attribute(2, [10, 0, 5, 7]),                                // IFA_LOCAL
            attribute(1, [10, 0, 5, 7]),                                // IFA_ADDRESS
            attribute(4, [10, 0, 7, 255]))                              // IFA_BROADCAST
        #expect(AddressMessage.add(address, interfaceIndex: 9, noDAD: false).bytes == expected)
        let pointToPoint = AddressMessage.add(InterfaceAddress(address: IPAddress("10.0.0.1")!, prefixLength: 31)!,
                                              interfaceIndex: 9, noDAD: false).bytes
        #expect(pointToPoint.count == 16 + 8 + 8 + 8)                   // no broadcast for /31
    }

    @Test func ipv6AddressWithoutDAD() throws {
        let ip = try #require(IPAddress("fd00::42"))
        let expected = message(
            type: Wire.newAddress, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            [10, 64, 0, 0] + le32(3),                                   // AF_INET6, /64, index 3
            attribute(2, ip.bytes), attribute(1, ip.bytes),
            attribute(8, u32: 0x02))                                    // IFA_FLAGS: IFA_F_NODAD
        #expect(AddressMessage.add(InterfaceAddress(address: ip, prefixLength: 64)!, interfaceIndex: 3, noDAD: true).bytes == expected)
    }

    @Test func defaultRouteViaGateway() {
        let route = Route.defaultRoute(via: IPAddress("172.17.0.1")!, outputInterface: 5)
        let expected = message(
            type: Wire.newRoute, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0, table main, RTPROT_STATIC, universe, RTN_UNICAST, flags 0
            [2, 0, 0, 0, 254, 4, 0, 1] + le32(0),
            attribute(15, u32: 254),                                    // RTA_TABLE
            attribute(5, [172, 17, 0, 1]),                              // RTA_GATEWAY
            attribute(4, u32: 5))                                       // RTA_OIF
        #expect(RouteMessage.add(route, replace: false).bytes == expected)
        let replace = RouteMessage.add(route, replace: true).bytes
        #expect(Array(replace[6..<8]) == le16(Wire.request | Wire.create | Wire.replace | Wire.ack))
    }

    @Test func onLinkRouteToASubnetInABigTable() {
        let route = Route(destination: IPNetwork("10.244.1.0/24")!, outputInterface: 8, table: 1000, metric: 10)
        let expected = message(
            type: Wire.newRoute, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            [2, 24, 0, 0, 0, 4, 253, 1] + le32(0),                      // table in RTA_TABLE only, link scope
            attribute(15, u32: 1000),
            attribute(1, [10, 244, 1, 0]),                              // RTA_DST
            attribute(4, u32: 8),
            attribute(6, u32: 10))                                      // RTA_PRIORITY
        #expect(RouteMessage.add(route, replace: false).bytes == expected)
    }

    @Test func localRouteOnAnInterface() {
        let route = Route(destination: IPNetwork("::1/128")!, outputInterface: 7, table: 255, metric: 4_000_000_000, isLocal: true)
        let expected = message(
            type: Wire.newRoute, flags: Wire.request | Wire.create | Wire.exclusive | Wire.ack,
            [10, 128, 0, 0, 255, 4, 254, 2] + le32(0),                  // AF_INET6, /128, table local, host scope, RTN_LOCAL
            attribute(15, u32: 255),
            attribute(1, IPAddress("::1")!.bytes),
            attribute(4, u32: 7),
            attribute(6, u32: 4_000_000_000))
        #expect(RouteMessage.add(route, replace: false).bytes == expected)
    }

    @Test func vxlanFloodEntryAppends() {
        let entry = FDBEntry(interfaceIndex: 6, mac: MACAddress("00:00:00:00:00:00")!, destination: IPAddress("192.0.2.9"),
                             vni: 42, port: 4789)
        let expected = message(
            type: Wire.newNeighbor, flags: Wire.request | Wire.create | Wire.append | Wire.ack,
            // ndmsg: AF_BRIDGE, pads, ifindex 6, NUD_PERMANENT, NTF_SELF, type 0
            [7, 0] + le16(0) + le32(6) + le16(0x80) + [0x02, 0],
            attribute(2, [0, 0, 0, 0, 0, 0]),                           // NDA_LLADDR
            attribute(1, [192, 0, 2, 9]),                               // NDA_DST
            attribute(6, [0x12, 0xb5]),                                 // NDA_PORT, big-endian
            attribute(7, u32: 42))                                      // NDA_VNI
        #expect(NeighborMessage.addFDB(entry, replace: false).bytes == expected)
    }

    @Test func neighbourReplaces() {
        let neighbor = Neighbor(interfaceIndex: 2, address: IPAddress("10.0.0.9")!, mac: MACAddress("02:00:00:00:00:09"))
        let expected = message(
            type: Wire.newNeighbor, flags: Wire.request | Wire.create | Wire.replace | Wire.ack,
            [2, 0] + le16(0) + le32(2) + le16(0x80) + [0, 0],
            attribute(1, [10, 0, 0, 9]), attribute(2, [2, 0, 0, 0, 0, 9]))
        #expect(NeighborMessage.add(neighbor, replace: true).bytes == expected)
    }

    @Test func dumpsAskTheKernelToFilter() {
        let addresses = AddressMessage.dump(family: .v6, interfaceIndex: 4).bytes
        #expect(addresses == message(type: 22, flags: Wire.request | 0x300, [10, 0, 0, 0] + le32(4)))
        let neighbours = NeighborMessage.dump(family: .v4, interfaceIndex: 4).bytes
        #expect(neighbours == message(type: 30, flags: Wire.request | 0x300, [2, 0] + le16(0) + le32(0) + le16(0) + [0, 0],
                                      attribute(8, u32: 4)))      // NDA_IFINDEX
        let routes = RouteMessage.dump(family: .v4, table: 254, protocol: 0).bytes
        #expect(routes == message(type: 26, flags: Wire.request | 0x300, [2, 0, 0, 0, 254, 0, 0, 1] + le32(0), attribute(15, u32: 254)))
        let overlayRoutes = RouteMessage.dump(family: .v4, table: 254, protocol: 83).bytes
        #expect(overlayRoutes == message(type: 26, flags: Wire.request | 0x300, [2, 0, 0, 0, 254, 83, 0, 1] + le32(0), attribute(15, u32: 254)))
    }

    @Test func longAttributesGrowTheBufferInsteadOfOverflowing() {
        let name = String(repeating: "x", count: 5000)
        let bytes = LinkMessage.get(named: name).bytes
        #expect(bytes.count == 16 + 16 + 4 + 5004 + 8)
        #expect(bytes[0..<4] == le32(UInt32(bytes.count))[...])
    }
}
