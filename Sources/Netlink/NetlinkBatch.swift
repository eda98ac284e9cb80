import IPAM

/// Changes sent together in one write and acknowledged together: one round trip for,
/// say, bringing a container's interface up and giving it its addresses and routes.
/// See `NetlinkHandle.execute(_:)` for how failures behave.
public struct NetlinkBatch: Sendable {
    struct Request {
        let message: MessageBuilder
        let operation: String
    }

    private(set) var requests: [Request] = []

    public init() {}

    public var isEmpty: Bool { requests.isEmpty }

    /// Changes a link by name, e.g. one created earlier in the same batch.
    public mutating func setLink(named name: String, _ changes: LinkChanges) {
        requests.append(Request(message: LinkMessage.change(named: name, changes), operation: "change link \(name)"))
    }

    public mutating func setLink(index: Int32, _ changes: LinkChanges) {
        requests.append(Request(message: LinkMessage.change(index: index, changes), operation: "change link \(index)"))
    }

    public mutating func addAddress(_ address: InterfaceAddress, interfaceIndex: Int32, noDAD: Bool = false) {
        requests.append(Request(message: AddressMessage.add(address, interfaceIndex: interfaceIndex, noDAD: noDAD),
                                operation: "add address \(address) to link \(interfaceIndex)"))
    }

    public mutating func addRoute(_ route: Route) {
        requests.append(Request(message: RouteMessage.add(route, replace: false), operation: "add route \(route.destination)"))
    }

    public mutating func replaceRoute(_ route: Route) {
        requests.append(Request(message: RouteMessage.add(route, replace: true), operation: "replace route \(route.destination)"))
    }

    public mutating func deleteRoute(_ route: Route) {
        requests.append(Request(message: RouteMessage.delete(route), operation: "delete route \(route.destination)"))
    }

    public mutating func setNeighbor(_ neighbor: Neighbor) {
        requests.append(Request(message: NeighborMessage.add(neighbor, replace: true), operation: "set neighbour \(neighbor.address)"))
    }

    public mutating func deleteNeighbor(_ neighbor: Neighbor) {
        requests.append(Request(message: NeighborMessage.delete(neighbor), operation: "delete neighbour \(neighbor.address)"))
    }

    public mutating func addFDB(_ entry: FDBEntry) {
        requests.append(Request(message: NeighborMessage.addFDB(entry, replace: false), operation: "add fdb entry \(entry.mac)"))
    }

    public mutating func setFDB(_ entry: FDBEntry) {
        requests.append(Request(message: NeighborMessage.addFDB(entry, replace: true), operation: "set fdb entry \(entry.mac)"))
    }

    public mutating func deleteFDB(_ entry: FDBEntry) {
        requests.append(Request(message: NeighborMessage.deleteFDB(entry), operation: "delete fdb entry \(entry.mac)"))
    }
}
