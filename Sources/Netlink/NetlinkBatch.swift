import IPAM
import NetlinkTransport

/// Changes sent together in one write and acknowledged together: one round trip for,
/// say, bringing a container's interface up and giving it its addresses and routes.
/// See `NetlinkHandle.execute(_:)` for how failures behave.
public struct NetlinkBatch: Sendable {
    private(set) var requests: [NetlinkRequest] = []

    public init() {}

    public var isEmpty: Bool { requests.isEmpty }

    /// Any request of `NetlinkRequest` (the methods below are shorthands).
    public mutating func append(_ request: NetlinkRequest) { requests.append(request) }

    /// Changes a link by name, e.g. one created earlier in the same batch.
    public mutating func setLink(named name: String, _ changes: LinkChanges) { append(.setLink(named: name, changes)) }
    public mutating func setLink(index: Int32, _ changes: LinkChanges) { append(.setLink(index: index, changes)) }
    public mutating func addAddress(_ address: InterfaceAddress, interfaceIndex: Int32, noDAD: Bool = false) {
        append(.addAddress(address, interfaceIndex: interfaceIndex, noDAD: noDAD))
    }
    public mutating func addRoute(_ route: Route) { append(.addRoute(route)) }
    public mutating func replaceRoute(_ route: Route) { append(.replaceRoute(route)) }
    public mutating func deleteRoute(_ route: Route) { append(.deleteRoute(route)) }
    public mutating func setNeighbor(_ neighbor: Neighbor) { append(.setNeighbor(neighbor)) }
    public mutating func deleteNeighbor(_ neighbor: Neighbor) { append(.deleteNeighbor(neighbor)) }
    public mutating func addFDB(_ entry: FDBEntry) { append(.addFDB(entry)) }
    public mutating func setFDB(_ entry: FDBEntry) { append(.setFDB(entry)) }
    public mutating func deleteFDB(_ entry: FDBEntry) { append(.deleteFDB(entry)) }
}
