import IPAM
import JSON
import Netlink
import SwnetCore

/// One host's registration in an overlay: the value of its key in etcd.
public struct OverlayHost: Sendable, Equatable {
    public var subnet: IPNetwork
    public var underlayIP: IPAddress
    /// The MAC of its VXLAN device (vxlan mode): derived from the host id, so it survives restarts.
    public var vtepMAC: MACAddress?
    /// Stable per swnet state root; how a restarted agent recognises its own registration.
    public var hostID: String
    public var hostname: String
    /// The etcd lease the key is bound to (from the key's metadata, not the value).
    public var lease: Int64 = 0

    /// The bridge's address on that host: the subnet's first address.
    public var gateway: IPAddress { subnet.address(atOffset: 1)! }
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
        return .object(object)
    }

    public var json: JSON {
        guard case .object(var object) = registration else { return registration }
        object["gateway"] = .string(gateway.description)
        object["lease"] = .string(String(lease, radix: 16))
        return .object(object)
    }

    init(registration json: JSON, lease: Int64) throws(SwnetError) {
        guard let subnet = json["subnet"]?.string.flatMap(IPNetwork.init),
              let underlayIP = json["underlayIP"]?.string.flatMap(IPAddress.init),
              let hostID = json["hostID"]?.string
        else { throw SwnetError("damaged host registration") }
        self.subnet = subnet
        self.underlayIP = underlayIP
        self.hostID = hostID
        vtepMAC = json["vtepMAC"]?.string.flatMap(MACAddress.init)
        hostname = json["hostname"]?.string ?? ""
        self.lease = lease
    }
}
