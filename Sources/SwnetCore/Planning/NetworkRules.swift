import IPAM

/// The rules a network follows, whichever path makes it (network create, attach's implicit
/// network, CNI, an overlay's share on this host): pure functions of names, requests and the
/// definitions there are, so every path checks the same things and tests check them without root.
public enum NetworkRules {
    /// Up to 64 letters, digits, '-', '_' or '.', not starting with '.' or '-': a name that is
    /// safe in the state, on a command line and in an etcd key.
    public static func checkName(_ name: String) throws(SwnetError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed, name.first != ".", name.first != "-" else {
            throw SwnetError.invalid("invalid network name '\(name)': use up to 64 letters, digits, '-', '_' or '.', not starting with '.' or '-'")
        }
    }

    /// The MTUs a bridge and its ports may have (68 is IPv4's minimum).
    package static let mtuRange: ClosedRange<UInt32> = 68...65535

    package static func checkMTU(_ mtu: UInt32?) throws(SwnetError) {
        if let mtu, !mtuRange.contains(mtu) {
            throw SwnetError.invalid("invalid MTU \(mtu): must be between \(mtuRange.lowerBound) and \(mtuRange.upperBound)")
        }
    }

    /// A bridge swnet would create must have a name the kernel accepts.
    package static func checkBridgeName(_ name: String) throws(SwnetError) {
        try InterfaceNames.validate(name, role: "bridge")
    }

    /// The bridge's name for a network: the network's own name when the kernel accepts it.
    package static func defaultBridgeName(for network: String) -> String {
        InterfaceNames.isValid(network) ? network : "swbr" + String(StableHash.fnv1a(network) & 0xffff_ffff, radix: 16).leftPadded(to: 8)
    }

    /// An RFC 4193 unique local /64 for a network that asks for IPv6 without a subnet: the
    /// 40-bit global ID is a hash of the name instead of random, so the same name gets the
    /// same prefix every time (and on every host), and the subnet ID is 0.
    public static func uniqueLocalSubnet(for network: String) -> IPNetwork {
        let globalID = UInt128(StableHash.fnv1a("swnet/\(network)") & 0xff_ffff_ffff)
        let prefix = UInt128(0xfd) << 120 | globalID << 80
        return IPNetwork(address: .v6(IPv6Address(prefix)), prefixLength: 64)!
    }

    /// The request's subnets and gateways, checked: one subnet per family at most, a gateway
    /// per subnet (given, or the subnet's first host address) inside it, `--ipv6`'s subnet added.
    static func addressing(of request: NetworkRequest) throws(SwnetError) -> (subnets: [IPNetwork], gateways: [IPAddress]) {
        var subnets = request.subnets
        if request.ipv6 && !subnets.contains(where: { $0.family == .v6 }) { subnets.append(uniqueLocalSubnet(for: request.name)) }
        guard !subnets.isEmpty else { throw .invalid("network \(request.name) needs a subnet: give --subnet CIDR or --ipv6") }
        for family in [IPFamily.v4, .v6] {
            let given = subnets.filter { $0.family == family }
            if given.count > 1 { throw .invalid("two \(family) subnets given (\(given.map(\.description).joined(separator: ", "))): a network has at most one per family") }
            let gateways = request.gateways.filter { $0.family == family }
            if gateways.count > 1 { throw .invalid("two \(family) gateways given (\(gateways.map(\.description).joined(separator: ", ")))") }
            if let gateway = gateways.first, given.isEmpty { throw .invalid("gateway \(gateway) has no \(family) subnet to belong to") }
        }
        var gateways: [IPAddress] = []
        for subnet in subnets {
            let gateway = request.gateways.first { $0.family == subnet.family } ?? AddressPool.defaultGateway(for: subnet)
            do { _ = try AddressPool(subnet: subnet, gateway: gateway) } catch { throw .invalid("\(error)") }
            if let gateway { gateways.append(gateway) }
        }
        return (subnets, gateways)
    }

    /// The one overlap rule: a new subnet may not overlap any other network's range, and an
    /// overlay network's range is its whole cluster subnet, not only this host's share of it.
    /// `role` names the new subnet in the error ("subnet", "overlay subnet"); `except` skips the
    /// network being redefined.
    package static func checkSubnetsAreFree(_ subnets: [IPNetwork], role: String = "subnet", except: String? = nil,
                                            among networks: [NetworkDefinition]) throws(SwnetError) {
        for subnet in subnets {
            for other in networks where other.name != except {
                let ranges = other.overlay?.clusterSubnets ?? other.subnets
                guard let range = ranges.first(where: { $0.overlaps(subnet) }) else { continue }
                if role == "subnet" {
                    throw SwnetError.subnetOverlaps(subnet: subnet.description, network: other.name, networkSubnet: range.description)
                }
                throw SwnetError("\(role) \(subnet) overlaps network \(other.name) (\(range))")
            }
        }
    }

    /// A network `network create` makes: its name and bridge are nobody's yet, its subnets free.
    package static func checkIsNew(name: String, bridge: String, subnets: [IPNetwork],
                                   among networks: [NetworkDefinition]) throws(SwnetError) {
        if networks.contains(where: { $0.name == name }) { throw SwnetError.networkExists(name) }
        if let other = networks.first(where: { $0.bridge == bridge }) {
            throw SwnetError("bridge \(bridge) already belongs to network \(other.name)")
        }
        try checkSubnetsAreFree(subnets, among: networks)
    }
}
