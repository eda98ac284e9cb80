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
    /// bridge whose gateway is each share's first address, one share per family.
    package static func overlayShare(name: String, subnets: [IPNetwork], bridge: String, mtu: UInt32, created: Int64,
                                     clusterSubnets: [IPNetwork], mode: OverlayMode, tunnel: String, underlayIP: IPAddress,
                                     lease: Int64) -> NetworkDefinition {
        var network = NetworkDefinition(name: name, subnets: subnets, gateways: subnets.compactMap { $0.address(atOffset: 1) },
                                        bridge: bridge, mtu: mtu, managesBridge: true, created: created)
        network.overlay = OverlayMembership(clusterSubnets: clusterSubnets, mode: mode, tunnel: tunnel,
                                            underlayIP: underlayIP, lease: lease)
        return network
    }
}
