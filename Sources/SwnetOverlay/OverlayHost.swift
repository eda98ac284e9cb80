import IPAM
import JSON
import Netlink
import SwnetCore

/// One host's registration in an overlay: the value of its key in etcd.
public struct OverlayHost: Sendable, Equatable {
    public var subnet: IPNetwork
    /// Its IPv6 share in a dual-stack overlay; nil in an IPv4-only one, and in registrations
    /// written before dual stack.
    public var subnet6: IPNetwork?
    public var underlayIP: IPAddress
    /// The MAC of its VXLAN device (vxlan mode): derived from the host id, so it survives restarts.
    public var vtepMAC: MACAddress?
    /// The MAC of its underlay interface (host-gw mode, dual stack): peers resolve its IPv6
    /// gateway to it with a permanent neighbour, since Linux answers neighbour solicitations
    /// only for addresses of the interface they arrive on (unlike ARP).
    public var underlayMAC: MACAddress?
    /// Stable per swnet state root; how a restarted agent recognises its own registration.
    public var hostID: String
    public var hostname: String
    /// The etcd lease the key is bound to (from the key's metadata, not the value).
    public var lease: Int64 = 0

    /// The bridge's address on that host: the subnet's first address.
    public var gateway: IPAddress { subnet.address(atOffset: 1)! }

    /// The bridge's IPv6 address on that host.
    public var gateway6: IPAddress? { subnet6?.address(atOffset: 1) }
}

extension OverlayHost: JSONRepresentable {
    /// What goes into etcd; the lease is etcd's own metadata.
    var registration: JSON {
        var object: [String: JSON] = [
            "subnet": .string(subnet.description),
            "underlayIP": .string(underlayIP.description),
            "hostID": .string(hostID),
            "hostname": .string(hostname),
        ]
        object["vtepMAC"] = vtepMAC.map { .string($0.description) } ?? .null
        if let subnet6 { object["subnet6"] = .string(subnet6.description) }
        if let underlayMAC { object["underlayMAC"] = .string(underlayMAC.description) }
        return .object(object)
    }

    public var json: JSON {
        guard case .object(var object) = registration else { return registration }
        object["gateway"] = .string(gateway.description)
        if let gateway6 { object["gateway6"] = .string(gateway6.description) }
        object["lease"] = .string(String(lease, radix: 16))
        return .object(object)
    }

    init(registration json: JSON, lease: Int64) throws(SwnetError) {
        guard let subnet = json["subnet"]?.string.flatMap(IPNetwork.init),
              let underlayIP = json["underlayIP"]?.string.flatMap(IPAddress.init),
              let hostID = json["hostID"]?.string
        else { throw SwnetError("damaged host registration") }
        let subnet6 = json["subnet6"]?.string.map(IPNetwork.init)
        guard subnet6 != .some(nil), subnet6??.family != .v4 else { throw SwnetError("damaged host registration") }
        self.subnet = subnet
        self.subnet6 = subnet6 ?? nil
        self.underlayIP = underlayIP
        self.hostID = hostID
        vtepMAC = json["vtepMAC"]?.string.flatMap(MACAddress.init)
        underlayMAC = json["underlayMAC"]?.string.flatMap(MACAddress.init)
        hostname = json["hostname"]?.string ?? ""
        self.lease = lease
    }
}
