import IPAM

/// How hosts carry each other's container traffic.
public enum OverlayMode: String, Sendable, CaseIterable {
    /// Encapsulated in VXLAN: works over any routed underlay.
    case vxlan
    /// Plain routes to each host's subnet via its underlay address: no encapsulation, but the
    /// hosts must share one L2 segment.
    case hostGateway = "host-gw"
}

extension NetworkDefinition {
    /// This host's part of an overlay (SwnetOverlay makes it when the agent joins): a managed
    /// bridge whose gateway is the share's first address.
    package static func overlayShare(name: String, subnet: IPNetwork, bridge: String, mtu: UInt32, created: Int64,
                                     clusterSubnet: IPNetwork, mode: OverlayMode, tunnel: String, underlayIP: IPAddress,
                                     lease: Int64) -> NetworkDefinition {
        var network = NetworkDefinition(name: name, subnet: subnet, gateway: subnet.address(atOffset: 1), bridge: bridge,
                                        mtu: mtu, managesBridge: true, created: created)
        network.overlay = OverlayMembership(clusterSubnet: clusterSubnet, mode: mode, tunnel: tunnel,
                                            underlayIP: underlayIP, lease: lease)
        return network
    }
}
