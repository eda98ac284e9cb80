#if canImport(Glibc)
import Glibc
#endif
import Etcd
import IPAM
import Netlink
import SwnetCore

/// The interface and address other hosts reach this one at.
struct Underlay: Equatable {
    var interface: Link
    var address: IPAddress
}

extension Swnet {
    /// `--underlay-ip` (IPv4 or IPv6), else `--underlay-dev`'s first IPv4 address (its first
    /// global IPv6 one when it has none), else the address the kernel would use to reach the
    /// first etcd endpoint, else the default route's interface.
    func resolveUnderlay(address: IPAddress?, device: String?, etcdEndpoints: [String]) throws -> Underlay {
        let netlink = try hostNetlink()
        func interface(holding address: IPAddress) throws -> Link? {
            guard let entry = try netlink.addresses(family: address.family).first(where: { $0.address.address == address }) else { return nil }
            return try netlink.link(index: entry.interfaceIndex)
        }
        if let address {
            guard let link = try interface(holding: address) else {
                throw SwnetError("underlay IP \(address) is not an address of this host")
            }
            return Underlay(interface: link, address: address)
        }
        if let device {
            guard let link = try netlink.link(named: device) else { throw SwnetError.notFound("no underlay interface named \(device)") }
            let candidates = try netlink.addresses(family: .v4, interfaceIndex: link.index)
                + netlink.addresses(family: .v6, interfaceIndex: link.index).filter { $0.scope == 0 }   // RT_SCOPE_UNIVERSE: not link-local
            guard let entry = candidates.first else {
                throw SwnetError("underlay interface \(device) has no IPv4 or global IPv6 address")
            }
            return Underlay(interface: link, address: entry.address.address)
        }
        if let host = etcdEndpoints.first.flatMap(Self.endpointHost), let target = IPAddress(host), target.family == .v4,
           !FirewallLayout.loopback.contains(target), let route = try netlink.lookupRoute(to: target) {
            // etcd on this host: the interface holding its address; otherwise the way out to it.
            let link = route.isLocal ? try interface(holding: target) : try netlink.link(index: route.interfaceIndex)
            if let link, let source = route.isLocal ? target : route.source { return Underlay(interface: link, address: source) }
        }
        if let route = try netlink.routes(family: .v4).first(where: { $0.destination.prefixLength == 0 && $0.outputInterface != nil }),
           let link = try netlink.link(index: route.outputInterface!),
           let entry = try netlink.addresses(family: .v4, interfaceIndex: link.index).first {
            return Underlay(interface: link, address: entry.address.address)
        }
        throw SwnetError("cannot tell which interface reaches the other hosts; give --underlay-ip or --underlay-dev")
    }

    /// "10.0.0.1" of "https://10.0.0.1:2379".
    static func endpointHost(_ endpoint: String) -> String? {
        let parts = endpoint.split(separator: "/", omittingEmptySubsequences: true)
        // "http:", "host:port" or just "host:port".
        guard let authority = endpoint.contains("://") ? parts.dropFirst().first : parts.first, !authority.hasPrefix("[") else { return nil }
        return authority.split(separator: ":", maxSplits: 1).first.map(String.init)
    }

    /// Makes this host's part of an overlay: the network (bridge with the subnet's first
    /// address, MTU of the overlay), the VXLAN device in vxlan mode, the firewall. Whatever
    /// exists and matches is kept, so an agent restart changes nothing in the data path.
    func setUpOverlayNetwork(_ configuration: OverlayConfiguration, subnet: IPNetwork, underlay: Underlay,
                             vtepMAC: MACAddress?, lease: Int64, transmitChecksumOffload: Bool,
                             in state: borrowing StateTransaction) throws -> NetworkDefinition {
        let mtu = configuration.containerMTU(underlayMTU: underlay.interface.mtu, underlay: underlay.address.family)
        let tunnel = configuration.mode == .vxlan ? configuration.tunnelDevice : underlay.interface.name
        let existing = try state.network(named: configuration.name)
        if let existing, existing.overlay == nil {
            throw SwnetError("network \(configuration.name) already exists on this host and is not an overlay")
        }
        let subnets = configuration.hostSubnets(subnet)
        try NetworkRules.checkSubnetsAreFree(configuration.subnets, role: "overlay subnet", except: configuration.name,
                                             among: state.networks())
        if let existing, existing.subnets != subnets || existing.mtu != mtu {
            // A new share (the old one was taken) or MTU: nothing may be attached to the old one.
            let attached = try state.attachmentCount(network: existing.name)
            guard attached == 0 else {
                throw SwnetError("this host's part of overlay \(configuration.name) changes (subnet \(existing.subnets.map(\.description).joined(separator: ", ")) → \(subnets.map(\.description).joined(separator: ", ")), MTU \(existing.mtu.map(String.init) ?? "default") → \(mtu)) but \(attached) container\(attached == 1 ? " is" : "s are") attached to it; detach them or run swnet overlay leave \(configuration.name) --force first")
            }
            try remove([existing], in: state)
        }
        let network = NetworkDefinition.overlayShare(
            name: configuration.name, subnets: subnets, bridge: existing?.bridge ?? NetworkRules.defaultBridgeName(for: configuration.name),
            mtu: mtu, created: existing?.created ?? Int64(time(nil)), clusterSubnets: configuration.subnets, mode: configuration.mode,
            tunnel: tunnel, underlayIP: underlay.address, lease: lease)
        try state.save(network)
        try Rollback().run { rollback in
            _ = try ensureBridge(for: network, rollback: rollback)
            if let vtepMAC {
                try ensureTunnel(configuration, underlay: underlay, mac: vtepMAC, mtu: mtu,
                                 transmitChecksumOffload: transmitChecksumOffload)
            }
            try refreshFastPath(for: network, rollback: rollback, in: state)
            try renderFirewall(in: state)
        }
        return network
    }

    /// The VXLAN device with exactly these settings: one that differs (say the underlay
    /// address changed) is replaced.
    private func ensureTunnel(_ configuration: OverlayConfiguration, underlay: Underlay, mac: MACAddress, mtu: UInt32,
                              transmitChecksumOffload: Bool) throws {
        let netlink = try hostNetlink()
        let name = configuration.tunnelDevice
        // No outer UDP checksum (RFC 7348's advice for IPv4; this kernel's default is on): what
        // the fast path's program writes too, and what it can take apart without verifying one.
        let options = VXLANOptions(vni: configuration.vni, port: configuration.port, local: underlay.address,
                                   parentIndex: underlay.interface.index, learning: false, udpChecksum: false)
        if let existing = try netlink.link(named: name) {
            let same = existing.kind == .vxlan && existing.mac == mac && existing.mtu == mtu
                && existing.vxlan?.vni == options.vni && existing.vxlan?.port == options.port
                && existing.vxlan?.local == options.local && existing.vxlan?.parentIndex == options.parentIndex
                && existing.vxlan?.learning == false
            if same {
                if !existing.isUp { try netlink.setLink(index: existing.index, LinkChanges(up: true)) }
                if !transmitChecksumOffload { try netlink.setTransmitChecksumOffload(named: name, enabled: false) }
                return
            }
            try netlink.deleteLink(index: existing.index)
        }
        var spec = LinkSpec(name: name, kind: .vxlan(options))
        spec.mtu = mtu
        spec.mac = mac
        spec.up = true
        do { try netlink.addLink(spec) } catch {
            throw SwnetError.during("create VXLAN device \(name) (VNI \(configuration.vni), port \(configuration.port))", error)
        }
        if !transmitChecksumOffload { try netlink.setTransmitChecksumOffload(named: name, enabled: false) }
    }

    /// The VTEP MAC of this host in an overlay: derived from the host id, so a restarted agent
    /// comes back with the MAC its peers already know (flannel#1795: a random one leaves stale
    /// FDB entries behind).
    func vtepMAC(overlay: String) throws -> MACAddress {
        InterfaceNames.stableMAC(seed: "vtep/\(try hostID())/\(overlay)")
    }
}
