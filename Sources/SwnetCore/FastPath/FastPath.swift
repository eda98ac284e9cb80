#if canImport(Glibc)
import Glibc
#endif
import BPF
import IPAM
import JSON
import Netlink

/// Where an attachment's traffic to its neighbours goes: the eBPF fast path (a tcx program on
/// its host side that redirects straight into the neighbour's namespace) or the bridge.
/// Recorded in the attachment, so detach and gc know what to remove.
public struct FastPathPort: Sendable, Equatable {
    /// The network's key in the maps: its bridge's ifindex, unique on the host.
    public var network: UInt32
    /// The host side's ifindex.
    public var hostInterfaceIndex: UInt32

    var json: JSON { ["network": .int(Int64(network)), "hostInterfaceIndex": .int(Int64(hostInterfaceIndex))] }

    init(network: UInt32, hostInterfaceIndex: UInt32) {
        self.network = network
        self.hostInterfaceIndex = hostInterfaceIndex
    }

    init?(json: JSON?) {
        guard let network = json?["network"]?.int, let index = json?["hostInterfaceIndex"]?.int else { return nil }
        self.init(network: UInt32(clamping: network), hostInterfaceIndex: UInt32(clamping: index))
    }
}

/// Whether new attachments use the fast path: on unless `SWNET_FAST_PATH=off` (or `--no-fast-path`).
/// Where the kernel cannot load the program, attachments take the bridge and say why.
public enum FastPathSetting {
    public static func fromEnvironment() -> Bool {
        guard let value = getenv("SWNET_FAST_PATH").map({ String(cString: $0) }) else { return true }
        return !["off", "0", "false", "no"].contains(value.lowercased())
    }
}

/// What `network inspect` shows of the fast path on this host.
public struct FastPathStatus: Sendable, JSONRepresentable {
    public var loaded: Bool
    /// Packets since the programs were loaded: container to container on this host, to
    /// containers on other hosts through the overlay device, from the overlay device into
    /// containers, VXLAN-encapsulated by the program straight out of the underlay interface,
    /// decapsulated by it on the underlay interface into containers, and left to the normal path.
    public var counters: FastPathObjects.Counters?

    public var json: JSON {
        guard let counters else { return ["loaded": .bool(loaded)] }
        return ["loaded": .bool(loaded), "redirectedPackets": .int(Int64(clamping: counters.redirected)),
                "toTunnelPackets": .int(Int64(clamping: counters.toTunnel)),
                "fromTunnelPackets": .int(Int64(clamping: counters.fromTunnel)),
                "encapsulatedPackets": .int(Int64(clamping: counters.encapsulated)),
                "decapsulatedPackets": .int(Int64(clamping: counters.decapsulated)),
                "passedPackets": .int(Int64(clamping: counters.passed))]
    }
}

extension Swnet {
    /// The fast path's objects; their ids are runtime state, like the attachments.
    var fastPathObjects: FastPathObjects {
        if let cachedFastPathObjects { return cachedFastPathObjects }
        let objects = FastPathObjects(idFile: "\(location.run)/fastpath-ids")
        cachedFastPathObjects = objects
        return objects
    }

    /// Puts a new attachment on the fast path: the program on its host side, the port and the
    /// endpoint in the maps, each undone by `rollback` if the attach fails later. A kernel that
    /// cannot do it leaves the attachment on the bridge (the normal path), which always works.
    func enableFastPath(_ attachment: inout Attachment, network: NetworkDefinition, bridge: Link, mac: MACAddress?,
                        rollback: Rollback) throws {
        guard usesFastPath, let mac else { return }
        let objects = fastPathObjects
        let wasLoaded = objects.open()
        do { try objects.load() } catch {
            attachment.fastPathUnavailable = "\(error)"
            return
        }
        if !wasLoaded { rollback.onFailure { [hostNamespace] in try? objects.unload(namespace: hostNamespace, bridge: bridge.index) } }
        guard let hostSide = try hostNetlink().link(named: attachment.hostInterface) else {
            throw SwnetError("interface \(attachment.hostInterface) vanished")
        }
        let port = FastPathPort(network: UInt32(bitPattern: bridge.index), hostInterfaceIndex: UInt32(bitPattern: hostSide.index))
        // One endpoint per address: a dual-stack container is reached directly on both families.
        let endpoints = attachment.addresses.map {
            FastPathEndpoint(network: port.network, address: $0.address, hostInterfaceIndex: port.hostInterfaceIndex, mac: mac)
        }
        do {
            // The bridge holds the program (it has no port entry, so the program passes its
            // packets at once): loading costs ~30 ms (vmlinux BTF, the verifier), and without
            // a holder the kernel would free it whenever the network's last container goes.
            try objects.attach(interface: bridge.name, index: bridge.index, namespace: hostNamespace)
            for endpoint in endpoints {
                try objects.setEndpoint(endpoint)
                rollback.onFailure { try? objects.removeEndpoint(network: port.network, address: endpoint.address) }
            }
            try objects.setPort(interfaceIndex: port.hostInterfaceIndex, network: port.network)
            rollback.onFailure { try? objects.removePort(interfaceIndex: port.hostInterfaceIndex) }
            try objects.attach(interface: hostSide.name, index: hostSide.index, namespace: hostNamespace)
            rollback.onFailure { [hostNamespace] in try? objects.detach(index: hostSide.index, namespace: hostNamespace) }
            if let overlay = network.overlay { try enableFastPath(overlay, bridge: bridge, objects: objects, rollback: rollback) }
        } catch {
            throw SwnetError.during("put \(attachment.hostInterface) on the fast path", error)
        }
        attachment.fastPath = port
    }

    /// An overlay's containers reach the other hosts through the overlay's device directly, and
    /// packets from there come straight in: the network's entry (device, cluster subnet, gateway
    /// MAC) and the program on the device, as a tunnel port. In vxlan mode the program also
    /// stands in for the VXLAN device: the entry carries the device's settings, the peers map
    /// its FDB (the agent keeps it in step from then on), and the program sits on the underlay
    /// interface to take VXLAN packets for containers here. Refreshed at every attach and when
    /// the agent sets up the devices again; a device that changed meanwhile leaves the traffic
    /// on the normal path, which always works.
    private func enableFastPath(_ overlay: OverlayMembership, bridge: Link, objects: FastPathObjects, rollback: Rollback) throws {
        let netlink = try hostNetlink()
        guard let tunnel = try netlink.link(named: overlay.tunnel), let gatewayMAC = bridge.mac else { return }
        let network = UInt32(bitPattern: bridge.index)
        let tunnelIndex = UInt32(bitPattern: tunnel.index)
        // A device with transmit checksum offload turned off (--no-tx-csum-offload, flannel#1279)
        // keeps encapsulating itself: the program would leave the inner checksums to the NIC.
        let vxlan = try netlink.transmitChecksumOffload(named: tunnel.name) ? Self.fastPathVXLAN(tunnel) : nil
        let entry = FastPathOverlay(network: network, tunnelInterfaceIndex: tunnelIndex,
                                    clusterSubnet: overlay.clusterSubnet, clusterSubnet6: overlay.clusterSubnet(.v6),
                                    gatewayMAC: gatewayMAC, vxlan: vxlan)
        try objects.setOverlay(entry)
        if try objects.ports().contains(where: { $0.interfaceIndex == tunnelIndex && $0.network == network }) { return }
        if let vxlan {
            let peers = try netlink.fdb(interfaceIndex: tunnel.index).compactMap { entry in
                entry.destination.map { FastPathPeer(tunnelInterfaceIndex: tunnelIndex, mac: entry.mac, underlayAddress: $0) }
            }
            try objects.setPeers(tunnelInterfaceIndex: tunnelIndex, peers.filter { $0.underlayAddress.family == .v4 })
            rollback.onFailure { _ = try? objects.setPeers(tunnelInterfaceIndex: tunnelIndex, []) }
            let underlay = vxlan.underlayInterfaceIndex
            try objects.addUnderlay(interfaceIndex: underlay)
            rollback.onFailure { [hostNamespace] in
                if (try? objects.removeUnderlay(interfaceIndex: underlay)) == true {
                    try? objects.detach(index: Int32(bitPattern: underlay), namespace: hostNamespace)
                }
            }
            try objects.attach(interface: "underlay interface \(underlay)", index: Int32(bitPattern: underlay), namespace: hostNamespace)
        }
        try objects.setPort(interfaceIndex: tunnelIndex, network: network, tunnel: true)
        rollback.onFailure { try? objects.removePort(interfaceIndex: tunnelIndex) }
        try objects.attach(interface: tunnel.name, index: tunnel.index, namespace: hostNamespace)
        rollback.onFailure { [hostNamespace] in try? objects.detach(index: tunnel.index, namespace: hostNamespace) }
    }

    /// The settings the program needs to do a VXLAN device's work, when it can: unicast peers
    /// from the FDB, an IPv4 local address and underlay interface.
    static func fastPathVXLAN(_ tunnel: Link) -> FastPathVXLAN? {
        guard tunnel.kind == .vxlan, let options = tunnel.vxlan, options.remote == nil,
              let local = options.local, local.family == .v4, let parent = options.parentIndex, parent > 0,
              let mac = tunnel.mac else { return nil }
        return FastPathVXLAN(vni: options.vni, port: options.port, localAddress: local,
                             underlayInterfaceIndex: UInt32(bitPattern: parent), vtepMAC: mac)
    }

    /// The agent changed a VXLAN device's peers (its FDB): the program's copy follows, when
    /// the fast path is loaded and the device is one of its ports. `peers` are VTEP MAC and
    /// underlay address, as in the FDB entries.
    public func updateFastPathPeers(tunnel: Link, peers: [(mac: MACAddress, underlayIP: IPAddress)]) throws {
        let objects = fastPathObjects
        let tunnelIndex = UInt32(bitPattern: tunnel.index)
        guard objects.open(), try objects.ports().contains(where: { $0.interfaceIndex == tunnelIndex }) else { return }
        let entries = peers.filter { $0.underlayIP.family == .v4 }.map {
            FastPathPeer(tunnelInterfaceIndex: tunnelIndex, mac: $0.mac, underlayAddress: $0.underlayIP)
        }
        do { try objects.setPeers(tunnelInterfaceIndex: tunnelIndex, entries) } catch {
            throw SwnetError.during("update the fast path's peers of \(tunnel.name)", error)
        }
    }

    /// The agent (re)made an overlay's devices (a changed underlay replaces the VXLAN device):
    /// containers already on the fast path keep it across hosts.
    package func refreshFastPath(for network: NetworkDefinition, rollback: Rollback, in state: borrowing StateTransaction) throws {
        guard let overlay = network.overlay, fastPathObjects.open(),
              try state.attachments(network: network.name).contains(where: { $0.fastPath != nil }),
              let bridge = try hostNetlink().link(named: network.bridge) else { return }
        do { try enableFastPath(overlay, bridge: bridge, objects: fastPathObjects, rollback: rollback) } catch {
            throw SwnetError.during("put overlay \(network.name)'s device on the fast path", error)
        }
    }

    /// A network going away (network rm, overlay leave): the program off its bridge (an adopted
    /// bridge stays), its overlay entry, its device's port and program. The caller removes the
    /// attachments' own entries. With the last holder gone, the kernel frees program and maps.
    func disableFastPath(network: NetworkDefinition) throws {
        let objects = fastPathObjects
        guard objects.open(), let bridge = try hostNetlink().link(named: network.bridge) else { return }
        let id = UInt32(bitPattern: bridge.index)
        do {
            try objects.detach(index: bridge.index, namespace: hostNamespace)
            guard network.overlay != nil else { return }
            try objects.removeOverlay(network: id)
            for port in try objects.ports() where port.network == id {
                try objects.setPeers(tunnelInterfaceIndex: port.interfaceIndex, [])
                if port.underlay {
                    // Still the underlay of another overlay: only the tunnel port goes.
                    try objects.setPort(interfaceIndex: port.interfaceIndex, network: 0)
                    continue
                }
                try objects.detach(index: Int32(bitPattern: port.interfaceIndex), namespace: hostNamespace)
                try objects.removePort(interfaceIndex: port.interfaceIndex)
            }
            try releaseUnderlays(objects)
        } catch {
            throw SwnetError.during("take network \(network.name) off the fast path", error)
        }
    }

    /// Underlay interfaces no overlay entry names any more lose that role (and the program,
    /// when they are no other port).
    private func releaseUnderlays(_ objects: FastPathObjects) throws {
        let used = Set(try objects.overlayNetworks().compactMap { objects.overlay(network: $0)?.vxlan?.underlayInterfaceIndex })
        for port in try objects.ports() where port.underlay && !used.contains(port.interfaceIndex) {
            if try objects.removeUnderlay(interfaceIndex: port.interfaceIndex) {
                try objects.detach(index: Int32(bitPattern: port.interfaceIndex), namespace: hostNamespace)
            }
        }
    }

    /// Takes released attachments off the fast path: their endpoints, ports and the program on
    /// their host sides (when those still exist).
    func disableFastPath(_ attachments: [Attachment]) throws {
        let objects = fastPathObjects
        guard attachments.contains(where: { $0.fastPath != nil }), objects.open() else { return }
        do {
            for attachment in attachments {
                guard let port = attachment.fastPath else { continue }
                // Only its own: the address may belong to a newer attachment already.
                for address in attachment.addresses.map(\.address)
                where objects.endpoint(network: port.network, address: address)?.hostInterfaceIndex == port.hostInterfaceIndex {
                    try objects.removeEndpoint(network: port.network, address: address)
                }
                try objects.removePort(interfaceIndex: port.hostInterfaceIndex)
                try objects.detach(index: Int32(bitPattern: port.hostInterfaceIndex), namespace: hostNamespace)
            }
        } catch {
            throw SwnetError.during("take attachments off the fast path", error)
        }
    }

    /// gc: the maps and links hold exactly the active attachments whose host side exists;
    /// anything else (left by a crash, or by a namespace that died) is removed.
    func collectFastPathGarbage(into report: inout CollectionReport, in state: borrowing StateTransaction) throws {
        let objects = fastPathObjects
        guard objects.open() else { return }
        let netlink = try hostNetlink()
        var owned: [String: FastPathPort] = [:]
        var ownedEndpoints = Set<String>()
        var ownedOverlays = Set<UInt32>()
        for network in try state.networks() {
            for attachment in try state.attachments(network: network.name) where attachment.phase == .active {
                guard let port = attachment.fastPath,
                      let link = try netlink.link(named: attachment.hostInterface),
                      UInt32(bitPattern: link.index) == port.hostInterfaceIndex else { continue }
                owned[attachment.hostInterface] = port
                for address in attachment.addresses {
                    ownedEndpoints.insert("\(port.network)/\(address.address)/\(port.hostInterfaceIndex)")
                }
                // An overlay's device belongs to the fast path while one of its containers does.
                if let overlay = network.overlay, let tunnel = try netlink.link(named: overlay.tunnel) {
                    owned[overlay.tunnel] = FastPathPort(network: port.network, hostInterfaceIndex: UInt32(bitPattern: tunnel.index))
                    ownedOverlays.insert(port.network)
                }
            }
        }
        let ownedTunnels = Set(owned.filter { ownedOverlays.contains($0.value.network) }.map(\.value.hostInterfaceIndex))
        // The underlay interfaces of the overlays kept: their entries name them.
        let ownedUnderlays = Set(ownedOverlays.compactMap { objects.overlay(network: $0)?.vxlan?.underlayInterfaceIndex })
        let ownedIndexes = Set(owned.values.map(\.hostInterfaceIndex))
        do {
            for endpoint in try objects.endpoints()
            where !ownedEndpoints.contains("\(endpoint.network)/\(endpoint.address)/\(endpoint.hostInterfaceIndex)") {
                try objects.removeEndpoint(network: endpoint.network, address: endpoint.address)
                report.fastPathEntries.append("endpoint \(endpoint.address)")
            }
            for port in try objects.ports() where !ownedIndexes.contains(port.interfaceIndex) {
                if port.underlay && ownedUnderlays.contains(port.interfaceIndex) {
                    if port.network != 0 {
                        try objects.setPort(interfaceIndex: port.interfaceIndex, network: 0)
                        report.fastPathEntries.append("port \(port.interfaceIndex)")
                    }
                    continue
                }
                try objects.detach(index: Int32(bitPattern: port.interfaceIndex), namespace: hostNamespace)
                try objects.removePort(interfaceIndex: port.interfaceIndex)
                report.fastPathEntries.append("port \(port.interfaceIndex)")
            }
            for peer in try objects.peers() where !ownedTunnels.contains(peer.tunnelInterfaceIndex) {
                try objects.removePeer(peer)
                report.fastPathEntries.append("peer \(peer.mac)")
            }
            for network in try objects.overlayNetworks() where !ownedOverlays.contains(network) {
                try objects.removeOverlay(network: network)
                report.fastPathEntries.append("overlay \(network)")
            }
        } catch {
            throw SwnetError.during("clean the fast path maps", error)
        }
    }

    func fastPathStatus() -> FastPathStatus {
        let objects = fastPathObjects
        guard objects.open(), let counters = try? objects.counters() else { return FastPathStatus(loaded: false) }
        return FastPathStatus(loaded: true, counters: counters)
    }
}
