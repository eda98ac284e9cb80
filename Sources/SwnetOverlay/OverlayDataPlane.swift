import IPAM
import Netlink
import SwnetCore

/// The kernel entries that carry traffic to an overlay's other hosts, and how to bring the
/// kernel in step with a list of peers. Every pass compares all attributes of what is there
/// with what should be (flannel compares subnets only and misses a peer's changed VTEP).
///
/// vxlan mode, per peer: neighbour `gateway → VTEP MAC` and FDB `VTEP MAC → underlay IP` on the
/// VXLAN device, the nexthop `via gateway onlink` through it, then the route `subnet nhid N`
/// (last, so no packet takes the route before its next hop resolves). host-gw mode: nexthop
/// `via underlay IP`, route `subnet nhid N`. Routes go through nexthop objects because the
/// kernel inserts gateway routes in quadratic time (see `Nexthop`); a peer's nexthop id is its
/// subnet's address, unique among swnet's since overlays' subnets never overlap. Ids are
/// per namespace, though: one another program's nexthop holds is left to it (writing ours
/// would take it over, and its routes with it), and the peer's route is reported as blocked.
///
/// A peer's IPv6 share (dual stack) takes a second nexthop, `via` its IPv6 gateway `onlink`,
/// id one more than the IPv4 one (shares are /30 or larger: the IPv4 id's low bits are free),
/// resolved by a permanent neighbour: its VTEP MAC in vxlan mode, where the FDB entry serves
/// both families, its underlay MAC in host-gw mode. The kernel refuses the shortcut of an IPv4
/// next hop for an IPv6 route ("IPv6 routes can not use an IPv4 nexthop", and RTA_VIA is IPv4 only).
struct OverlayDataPlane {
    /// RTPROT value marking the routes and nexthops overlays own, so they are found again after a restart.
    static let routeProtocol: UInt8 = 83

    let mode: OverlayMode
    /// The overlay's ranges, IPv4 first.
    let clusterSubnets: [IPNetwork]
    /// The VXLAN device (vxlan) or the underlay interface (host-gw).
    let interfaceIndex: Int32

    struct Entries: Equatable {
        var neighbors: Set<NeighborEntry> = []
        var forwarding: Set<ForwardingEntry> = []
        var nexthops: Set<NexthopEntry> = []
        var routes: Set<RouteEntry> = []

        var isEmpty: Bool { neighbors.isEmpty && forwarding.isEmpty && nexthops.isEmpty && routes.isEmpty }
        var count: Int { neighbors.count + forwarding.count + nexthops.count + routes.count }

        func subtracting(_ other: Entries) -> Entries {
            Entries(neighbors: neighbors.subtracting(other.neighbors), forwarding: forwarding.subtracting(other.forwarding),
                    nexthops: nexthops.subtracting(other.nexthops), routes: routes.subtracting(other.routes))
        }

        /// "route 10.1.2.0/24 via 10.1.2.1": for inspect and logs.
        var descriptions: [String] {
            neighbors.map { "neighbour \($0.address) lladdr \($0.mac)" }.sorted()
                + forwarding.map { "fdb \($0.mac) dst \($0.destination)" }.sorted()
                + nexthops.map { "nexthop \($0.id) via \($0.gateway)" }.sorted()
                + routes.map { "route \($0.destination) via \($0.gateway)" }.sorted()
        }
    }

    struct NeighborEntry: Hashable { var address: IPAddress; var mac: MACAddress }
    struct ForwardingEntry: Hashable { var mac: MACAddress; var destination: IPAddress }
    struct NexthopEntry: Hashable { var id: UInt32; var gateway: IPAddress }
    /// The gateway is the one of the route's nexthop, as the kernel reports it.
    struct RouteEntry: Hashable { var destination: IPNetwork; var gateway: IPAddress }

    /// One peer's entries: the FDB entry exists in vxlan mode only; a route per family, each
    /// through its own nexthop.
    struct PeerEntries {
        var neighbors: [NeighborEntry] = []
        var forwarding: ForwardingEntry?
        var paths: [(nexthop: NexthopEntry, route: RouteEntry)] = []
    }

    var clusterSubnet: IPNetwork { clusterSubnets[0] }
    var clusterSubnet6: IPNetwork? { clusterSubnets.first { $0.family == .v6 } }

    func entries(of peer: OverlayHost) -> PeerEntries {
        let id = Self.nexthopID(of: peer.subnet)
        // A share outside the overlay's range (a damaged registration) is never routed.
        let share6 = peer.subnet6.flatMap { subnet6 in
            peer.gateway6.flatMap { clusterSubnet6?.contains(subnet6) == true ? (subnet: subnet6, gateway: $0) : nil }
        }
        var entries = PeerEntries()
        switch mode {
        case .vxlan:
            guard let mac = peer.vtepMAC else { return entries }
            entries.forwarding = ForwardingEntry(mac: mac, destination: peer.underlayIP)
            entries.neighbors.append(NeighborEntry(address: peer.gateway, mac: mac))
            entries.paths.append((NexthopEntry(id: id, gateway: peer.gateway), RouteEntry(destination: peer.subnet, gateway: peer.gateway)))
            if let share6 {
                entries.neighbors.append(NeighborEntry(address: share6.gateway, mac: mac))
                entries.paths.append((NexthopEntry(id: id + 1, gateway: share6.gateway),
                                      RouteEntry(destination: share6.subnet, gateway: share6.gateway)))
            }
        case .hostGateway:
            // Over an IPv6 underlay both routes go via the peer's address (an IPv4 route may
            // have an IPv6 next hop, RFC 5549), found by neighbour discovery.
            entries.paths.append((NexthopEntry(id: id, gateway: peer.underlayIP),
                                  RouteEntry(destination: peer.subnet, gateway: peer.underlayIP)))
            if let share6, peer.underlayIP.family == .v6 {
                entries.paths.append((NexthopEntry(id: id + 1, gateway: peer.underlayIP),
                                      RouteEntry(destination: share6.subnet, gateway: peer.underlayIP)))
            } else if let share6, let mac = peer.underlayMAC {
                entries.neighbors.append(NeighborEntry(address: share6.gateway, mac: mac))
                entries.paths.append((NexthopEntry(id: id + 1, gateway: share6.gateway),
                                      RouteEntry(destination: share6.subnet, gateway: share6.gateway)))
            }
        }
        return entries
    }

    static func nexthopID(of subnet: IPNetwork) -> UInt32 {
        subnet.address.bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func address(ofNexthop id: UInt32) -> IPAddress {
        IPAddress(bytes: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: id >> $0) })!
    }

    /// Every peer's entries, but no nexthop or route through the nexthop ids in `blocked`.
    func desired(for peers: [OverlayHost], blocked: Set<UInt32> = []) -> Entries {
        var entries = Entries()
        for peer in peers {
            let wanted = self.entries(of: peer)
            entries.neighbors.formUnion(wanted.neighbors)
            if let forwarding = wanted.forwarding { entries.forwarding.insert(forwarding) }
            for path in wanted.paths where !blocked.contains(path.nexthop.id) {
                entries.nexthops.insert(path.nexthop)
                entries.routes.insert(path.route)
            }
        }
        return entries
    }

    /// What the kernel has now: permanent neighbours (on the underlay interface in host-gw
    /// mode, only those of the overlay's IPv6 range) and remote FDB entries of the VXLAN
    /// device, and the overlay's own nexthops and routes.
    func current(_ netlink: NetlinkHandle) throws(NetlinkError) -> Entries {
        var entries = Entries()
        if mode == .vxlan || clusterSubnet6 != nil {
            for neighbor in try netlink.neighbors(family: mode == .vxlan ? nil : .v6, interfaceIndex: interfaceIndex)
            where neighbor.isPermanent && (mode == .vxlan || clusterSubnet6?.contains(neighbor.address) == true) {
                if let mac = neighbor.mac { entries.neighbors.insert(NeighborEntry(address: neighbor.address, mac: mac)) }
            }
        }
        if mode == .vxlan {
            for entry in try netlink.fdb(interfaceIndex: interfaceIndex) where entry.flags.contains(.device) {
                if let destination = entry.destination { entries.forwarding.insert(ForwardingEntry(mac: entry.mac, destination: destination)) }
            }
        }
        // In host-gw mode another overlay's nexthops may share the interface: ours are named
        // after subnets of this one.
        for nexthop in try netlink.nexthops(interfaceIndex: interfaceIndex)
        where nexthop.protocol == Self.routeProtocol && clusterSubnet.contains(Self.address(ofNexthop: nexthop.id)) {
            if let gateway = nexthop.gateway { entries.nexthops.insert(NexthopEntry(id: nexthop.id, gateway: gateway)) }
        }
        for clusterSubnet in clusterSubnets {
            for route in try netlink.routes(family: clusterSubnet.family, protocol: Self.routeProtocol)
            where clusterSubnet.contains(route.destination) {
                // A route of ours through another interface (the underlay changed) is stale too:
                // recorded with an impossible gateway so it never matches a desired one.
                let gateway = route.outputInterface == interfaceIndex ? route.gateway : nil
                entries.routes.insert(RouteEntry(destination: route.destination, gateway: gateway ?? route.destination.address))
            }
        }
        return entries
    }

    /// What a pass changed, and the peers' subnets it left unrouted because another program's
    /// nexthop holds their nexthop id.
    struct Changes {
        var added: Entries
        var removed: Entries
        var blocked: [IPNetwork]
    }

    /// Removes what should not be there and adds what is missing, in one kernel round trip
    /// per `Batches.limit` changes. Returns what it changed.
    @discardableResult
    func reconcile(_ netlink: NetlinkHandle, peers: [OverlayHost]) throws(NetlinkError) -> Changes {
        try change(netlink, from: try current(netlink), to: peers)
    }

    /// A peer's registration before and after a change: nil before for a new peer, nil after
    /// for one that left.
    struct PeerChange: Equatable {
        var before: OverlayHost?
        var after: OverlayHost?
    }

    /// Applies changes of peers without reading the kernel: only the entries that differ
    /// between before and after are written or removed. Returns what it changed.
    @discardableResult
    func update(_ netlink: NetlinkHandle, changes: [PeerChange]) throws(NetlinkError) -> Changes {
        try change(netlink, from: desired(for: changes.compactMap(\.before)), to: changes.compactMap(\.after))
    }

    /// Removes what `present` has and `peers` do not want, and adds what they miss. A nexthop
    /// id `present` lacks is first looked up: another program's nexthop may hold it.
    private func change(_ netlink: NetlinkHandle, from present: Entries, to peers: [OverlayHost]) throws(NetlinkError)
        -> Changes {
        var wanted = desired(for: peers)
        let blocked = try idsHeldByOthers(Set(wanted.nexthops.map(\.id)).subtracting(present.nexthops.map(\.id)), netlink)
        var blockedSubnets: [IPNetwork] = []
        if !blocked.isEmpty {
            wanted = desired(for: peers, blocked: blocked)
            blockedSubnets = peers.flatMap { entries(of: $0).paths }.filter { blocked.contains($0.nexthop.id) }.map(\.route.destination)
        }
        let stale = present.subtracting(wanted)
        let missing = wanted.subtracting(present)
        var batches = Batches()
        remove(stale, keeping: wanted, from: &batches)
        add(missing, of: peers, to: &batches)
        try batches.execute(netlink)
        return Changes(added: missing, removed: stale, blocked: blockedSubnets)
    }

    /// The ids among `ids` that a nexthop of another protocol than ours holds. A few (a watched
    /// change) are asked for one by one in one write; many (joining, the periodic comparison)
    /// are found in one dump of every nexthop.
    private func idsHeldByOthers(_ ids: Set<UInt32>, _ netlink: NetlinkHandle) throws(NetlinkError) -> Set<UInt32> {
        guard !ids.isEmpty else { return [] }
        let existing = ids.count <= Batches.limit ? try netlink.nexthops(ids: ids.sorted()) : try netlink.nexthops().filter { ids.contains($0.id) }
        return Set(existing.filter { $0.protocol != Self.routeProtocol }.map(\.id))
    }

    /// Removes every entry of this overlay (leaving; in vxlan mode deleting the device does it too).
    func removeAll(_ netlink: NetlinkHandle) throws(NetlinkError) {
        var batches = Batches()
        remove(try current(netlink), keeping: Entries(), from: &batches)
        try batches.execute(netlink)
    }

    /// Thousands of peers make tens of thousands of changes: more than one write to a netlink
    /// socket can carry (EMSGSIZE past its send buffer), and more acknowledgements than its
    /// receive buffer holds (ENOBUFS: each ack takes ~1 KiB of it). In order, a batch per
    /// `limit` changes.
    struct Batches {
        static let limit = 100
        private var done: [NetlinkBatch] = []
        private var current = NetlinkBatch()
        private var count = 0

        mutating func add(_ change: (inout NetlinkBatch) -> Void) {
            if count == Self.limit {
                done.append(current)
                current = NetlinkBatch()
                count = 0
            }
            change(&current)
            count += 1
        }

        func execute(_ netlink: NetlinkHandle) throws(NetlinkError) {
            for batch in done + [current] { try netlink.execute(batch) }
        }
    }

    /// Peer by peer: its neighbours and FDB entry, its nexthops, then its routes (last, so no
    /// packet takes a route before its next hop resolves).
    private func add(_ missing: Entries, of peers: [OverlayHost], to batches: inout Batches) {
        for peer in peers {
            let wanted = entries(of: peer)
            for entry in wanted.neighbors where missing.neighbors.contains(entry) {
                batches.add { $0.setNeighbor(Neighbor(interfaceIndex: interfaceIndex, address: entry.address, mac: entry.mac)) }
            }
            if let entry = wanted.forwarding, missing.forwarding.contains(entry) {
                batches.add { $0.setFDB(FDBEntry(interfaceIndex: interfaceIndex, mac: entry.mac, destination: entry.destination)) }
            }
            for (nexthop, _) in wanted.paths where missing.nexthops.contains(nexthop) {
                // Only a host-gw peer's own underlay address is on the link without saying so.
                let onLink = nexthop.gateway != peer.underlayIP
                batches.add {
                    $0.replaceNexthop(Nexthop(id: nexthop.id, gateway: nexthop.gateway, interfaceIndex: interfaceIndex,
                                              onLink: onLink, protocol: Self.routeProtocol))
                }
            }
            for (nexthop, route) in wanted.paths where missing.routes.contains(route) {
                batches.add {
                    $0.replaceRoute(Route(destination: route.destination, protocol: Self.routeProtocol, nexthopID: nexthop.id))
                }
            }
        }
    }

    /// Routes go first: no packet may take a route whose next hop is being removed. A route or
    /// nexthop that is wanted again (the peer changed) is replaced in place, not removed: a
    /// nexthop takes its routes with it.
    private func remove(_ stale: Entries, keeping wanted: Entries, from batches: inout Batches) {
        let wantedDestinations = Set(wanted.routes.map(\.destination))
        for entry in stale.routes where !wantedDestinations.contains(entry.destination) {
            batches.add { $0.deleteRoute(Route(destination: entry.destination, table: Route.mainTable, protocol: Self.routeProtocol)) }
        }
        let wantedNexthops = Set(wanted.nexthops.map(\.id))
        for entry in stale.nexthops where !wantedNexthops.contains(entry.id) {
            batches.add { $0.deleteNexthop(id: entry.id) }
        }
        for entry in stale.forwarding {
            batches.add { $0.deleteFDB(FDBEntry(interfaceIndex: interfaceIndex, mac: entry.mac, destination: entry.destination)) }
        }
        for entry in stale.neighbors {
            batches.add { $0.deleteNeighbor(Neighbor(interfaceIndex: interfaceIndex, address: entry.address, mac: entry.mac)) }
        }
    }
}
