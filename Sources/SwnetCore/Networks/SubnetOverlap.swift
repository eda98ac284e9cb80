import IPAM

extension Swnet {
    /// The one overlap rule every path that makes a network follows (network create, attach's
    /// implicit network, an overlay's local network): a new subnet may not overlap any other
    /// network's range, and an overlay network's range is its whole cluster subnet, not only
    /// this host's share of it. `role` names the new subnet in the error ("subnet", "overlay
    /// subnet"); `except` skips the network being redefined.
    package func checkSubnetIsFree(_ subnet: IPNetwork, role: String = "subnet", except: String? = nil,
                           in state: borrowing StateTransaction) throws {
        for other in try state.networks() where other.name != except {
            let ranges = other.overlay?.clusterSubnets ?? other.subnets
            guard let range = ranges.first(where: { $0.overlaps(subnet) }) else { continue }
            if role == "subnet" {
                throw SwnetError.subnetOverlaps(subnet: subnet.description, network: other.name, networkSubnet: range.description)
            }
            throw SwnetError("\(role) \(subnet) overlaps network \(other.name) (\(range))")
        }
    }
}
