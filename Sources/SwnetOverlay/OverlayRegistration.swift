import Etcd
import IPAM
import Netlink
import SwnetCore

extension OverlayHost {
    public init(subnet: IPNetwork, subnet6: IPNetwork? = nil, underlayIP: IPAddress, vtepMAC: MACAddress?,
                underlayMAC: MACAddress? = nil, hostID: String, hostname: String) {
        self.subnet = subnet
        self.subnet6 = subnet6
        self.underlayMAC = underlayMAC
        self.underlayIP = underlayIP
        self.vtepMAC = vtepMAC
        self.hostID = hostID
        self.hostname = hostname
    }

    /// Registers this host in `overlay` under `lease`, with the key and value an agent writes when
    /// it claims a free subnet; for tools that stand in for other hosts (swnet-bench's simulated
    /// peers). False when the subnet is already registered.
    public func register(in overlay: String, lease: Int64, client: EtcdClient) throws -> Bool {
        let key = OverlayKeys(name: overlay).host(subnet)
        return try client.txn(compare: [.absent(key: key)],
                              success: [.put(key: key, value: registration.serialized(), lease: lease)],
                              failure: []).succeeded
    }
}
