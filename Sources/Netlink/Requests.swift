import IPAM
import NetlinkTransport

/// The rtnetlink changes as values: `NetlinkHandle.execute(_:)` sends one, `NetlinkBatch`
/// collects several for one write. Each is written here once; the handle's and the batch's
/// methods of the same names are shorthands for them.
extension NetlinkRequest {
    /// Changes a link by name, e.g. one created earlier in the same batch.
    public static func setLink(named name: String, _ changes: LinkChanges) -> NetlinkRequest {
        NetlinkRequest(LinkMessage.change(named: name, changes), operation: "change link \(name)")
    }

    public static func setLink(index: Int32, _ changes: LinkChanges) -> NetlinkRequest {
        NetlinkRequest(LinkMessage.change(index: index, changes), operation: "change link \(index)")
    }

    public static func deleteLink(index: Int32) -> NetlinkRequest {
        NetlinkRequest(LinkMessage.delete(index: index), operation: "delete link \(index)")
    }

    /// Deletes a link by name (a veth's peer goes with it).
    public static func deleteLink(named name: String) -> NetlinkRequest {
        NetlinkRequest(LinkMessage.delete(named: name), operation: "delete link \(name)")
    }

    /// Adds an address (IFA_LOCAL and IFA_ADDRESS, plus the broadcast for IPv4). `noDAD`
    /// skips IPv6 duplicate address detection so the address is usable at once.
    public static func addAddress(_ address: InterfaceAddress, interfaceIndex: Int32, noDAD: Bool = false) -> NetlinkRequest {
        NetlinkRequest(AddressMessage.add(address, interfaceIndex: interfaceIndex, noDAD: noDAD),
                       operation: "add address \(address) to link \(interfaceIndex)")
    }

    public static func deleteAddress(_ address: InterfaceAddress, interfaceIndex: Int32) -> NetlinkRequest {
        NetlinkRequest(AddressMessage.delete(address, interfaceIndex: interfaceIndex),
                       operation: "delete address \(address) from link \(interfaceIndex)")
    }

    /// Adds a route; fails with `isExists` when it is there already.
    public static func addRoute(_ route: Route) -> NetlinkRequest {
        NetlinkRequest(RouteMessage.add(route, replace: false), operation: "add route \(route.destination)")
    }

    /// Adds the route or replaces the one with the same destination, table and metric.
    public static func replaceRoute(_ route: Route) -> NetlinkRequest {
        NetlinkRequest(RouteMessage.add(route, replace: true), operation: "replace route \(route.destination)")
    }

    /// Deletes the route matching destination, table and, where given, gateway,
    /// output interface and metric.
    public static func deleteRoute(_ route: Route) -> NetlinkRequest {
        NetlinkRequest(RouteMessage.delete(route), operation: "delete route \(route.destination)")
    }

    /// Adds or replaces a neighbour entry (what overlays use to pin a remote's MAC).
    public static func setNeighbor(_ neighbor: Neighbor) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.add(neighbor, replace: true), operation: "set neighbour \(neighbor.address)")
    }

    /// Adds a neighbour entry; fails with `isExists` when there is one for the address.
    public static func addNeighbor(_ neighbor: Neighbor) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.add(neighbor, replace: false), operation: "add neighbour \(neighbor.address)")
    }

    public static func deleteNeighbor(_ neighbor: Neighbor) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.delete(neighbor), operation: "delete neighbour \(neighbor.address)")
    }

    /// Adds an FDB entry, or one more destination to an existing VXLAN entry (NLM_F_APPEND):
    /// the all-zeros MAC with one `addFDB` per remote VTEP is the flood list of an overlay.
    /// Adding a destination that is there already changes nothing.
    public static func addFDB(_ entry: FDBEntry) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.addFDB(entry, replace: false), operation: "add fdb entry \(entry.mac)")
    }

    /// Adds an FDB entry or replaces it so this is its only destination (NLM_F_REPLACE):
    /// for a MAC that moved to another VTEP.
    public static func setFDB(_ entry: FDBEntry) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.addFDB(entry, replace: true), operation: "set fdb entry \(entry.mac)")
    }

    /// Deletes an FDB entry; with a destination, only that destination of a VXLAN entry.
    public static func deleteFDB(_ entry: FDBEntry) -> NetlinkRequest {
        NetlinkRequest(NeighborMessage.deleteFDB(entry), operation: "delete fdb entry \(entry.mac)")
    }
}
