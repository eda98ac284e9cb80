#if canImport(Glibc)
import Glibc
#endif
import CSwnetBPF
import IPAM
import Netlink

/// A failed bpf() operation: what was attempted, the errno, and libbpf's reason when it gave one.
public struct BPFError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var detail: String?

    public var description: String {
        let reason = String(cString: strerror(errno))
        guard let detail, !detail.isEmpty else { return "\(operation): \(reason)" }
        return "\(operation): \(reason) (\(detail))"
    }
}

/// A container interface the fast path delivers to: the host side of its veth pair and the MAC
/// the container's neighbours address it by.
public struct FastPathEndpoint: Sendable, Equatable {
    public var network: UInt32
    public var address: IPAddress
    public var hostInterfaceIndex: UInt32
    public var mac: MACAddress

    public init(network: UInt32, address: IPAddress, hostInterfaceIndex: UInt32, mac: MACAddress) {
        self.network = network
        self.address = address
        self.hostInterfaceIndex = hostInterfaceIndex
        self.mac = mac
    }
}

/// An overlay's part on this host, for the fast path: where its containers' packets to other
/// hosts go, and which sources may come back through it.
public struct FastPathOverlay: Sendable, Equatable {
    public var network: UInt32
    public var tunnelInterfaceIndex: UInt32
    public var clusterSubnet: IPNetwork
    /// The IPv6 subnet of a dual-stack overlay: IPv6 across hosts on the fast path too when it
    /// is /64 or shorter (the program compares the first 64 bits).
    public var clusterSubnet6: IPNetwork?
    public var gatewayMAC: MACAddress
    /// vxlan mode: the VXLAN device's settings, so the program encapsulates and decapsulates
    /// itself; nil (host-gw, or a device it cannot stand in for): the device does it.
    public var vxlan: FastPathVXLAN?

    public init(network: UInt32, tunnelInterfaceIndex: UInt32, clusterSubnet: IPNetwork, clusterSubnet6: IPNetwork? = nil,
                gatewayMAC: MACAddress, vxlan: FastPathVXLAN? = nil) {
        self.network = network
        self.tunnelInterfaceIndex = tunnelInterfaceIndex
        self.clusterSubnet = clusterSubnet
        self.clusterSubnet6 = clusterSubnet6.flatMap { (1...64).contains($0.prefixLength) ? $0 : nil }
        self.gatewayMAC = gatewayMAC
        self.vxlan = vxlan
    }
}

/// What the program needs to write and read the VXLAN device's packets: its VNI, UDP port,
/// local (IPv4) address, underlay interface and MAC.
public struct FastPathVXLAN: Sendable, Equatable {
    public var vni: UInt32
    public var port: UInt16
    public var localAddress: IPAddress
    public var underlayInterfaceIndex: UInt32
    public var vtepMAC: MACAddress

    public init(vni: UInt32, port: UInt16, localAddress: IPAddress, underlayInterfaceIndex: UInt32, vtepMAC: MACAddress) {
        self.vni = vni
        self.port = port
        self.localAddress = localAddress
        self.underlayInterfaceIndex = underlayInterfaceIndex
        self.vtepMAC = vtepMAC
    }
}

/// Another host's VTEP as a VXLAN device's FDB has it: the program encapsulates packets for
/// `mac` (the neighbour entry of the peer's gateway) to `underlayAddress`.
public struct FastPathPeer: Sendable, Hashable {
    public var tunnelInterfaceIndex: UInt32
    public var mac: MACAddress
    public var underlayAddress: IPAddress

    public init(tunnelInterfaceIndex: UInt32, mac: MACAddress, underlayAddress: IPAddress) {
        self.tunnelInterfaceIndex = tunnelInterfaceIndex
        self.mac = mac
        self.underlayAddress = underlayAddress
    }
}

/// swnet's fast path objects in the kernel: the program (`swnet_fastpath`) and its maps (`swnet_fp_ports`,
/// `swnet_fp_networks`, `swnet_fp_endpoints`, `swnet_fp_counters`, `swnet_fp_peers`, `swnet_fp_vxlan`).
/// Nothing is pinned: the program attached to devices keeps itself and their maps alive in any
/// mount namespace, and later processes find them by the ids kept in `idFile` (runtime state).
/// When the last device with a program goes, the kernel frees everything.
public final class FastPathObjects {
    let idFile: String
    private var fds: [Int32] = []

    public init(idFile: String) {
        self.idFile = idFile
    }

    deinit {
        for fd in fds where fd >= 0 { close(fd) }
    }

    private var portsFD: Int32 { fds[Int(SWNET_FP_PORTS)] }
    private var networksFD: Int32 { fds[Int(SWNET_FP_NETWORKS)] }
    private var endpointsFD: Int32 { fds[Int(SWNET_FP_ENDPOINTS)] }
    private var countersFD: Int32 { fds[Int(SWNET_FP_COUNTER_MAP)] }
    private var peersFD: Int32 { fds[Int(SWNET_FP_PEERS)] }
    private var vxlanFD: Int32 { fds[Int(SWNET_FP_VXLAN)] }

    /// Opens the objects an earlier swnet loaded, if they still exist; false when there are none.
    /// Ids of objects the kernel freed (the last device with the program went) are forgotten.
    public func open() -> Bool {
        if !fds.isEmpty { return true }
        guard let text = try? readText(idFile) else { return false }
        let ids = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt32($0) }
        var opened = [Int32](repeating: -1, count: Int(SWNET_FP_OBJECTS))
        guard ids.count == Int(SWNET_FP_OBJECTS), swnet_bpf_open_fastpath(ids, &opened) == 0 else {
            unlink(idFile)
            return false
        }
        fds = opened
        return true
    }

    /// Opens the objects, or loads them from the bytecode built into swnet and records their ids.
    /// A kernel without what they need (tcx, kfuncs, BTF) fails here with the verifier's reason.
    public func load() throws(BPFError) {
        if open() { return }
        var loaded = [Int32](repeating: -1, count: Int(SWNET_FP_OBJECTS))
        var ids = [UInt32](repeating: 0, count: Int(SWNET_FP_OBJECTS))
        var message = [CChar](repeating: 0, count: 512)
        let result = swnet_bpf_load_fastpath(&loaded, &ids, &message, message.count)
        if result < 0 {
            throw BPFError(operation: "load the fast path programs", errno: -result,
                           detail: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        fds = loaded
        try writeText(ids.map(String.init).joined(separator: " ") + "\n", to: idFile)
    }

    /// Forgets the objects: detaches the program from every port and from `bridge` (the device
    /// that holds it), and removes the id file; the kernel frees them when this process closes
    /// its descriptors.
    public func unload(namespace: NetworkNamespace?, bridge: Int32? = nil) throws(BPFError) {
        if open() {
            for port in try ports() { try detach(index: Int32(bitPattern: port.interfaceIndex), namespace: namespace) }
            if let bridge { try detach(index: bridge, namespace: namespace) }
        }
        if unlink(idFile) != 0 && errno != ENOENT { throw BPFError(operation: "remove \(idFile)", errno: errno) }
    }

    /// Attaches the program to the tcx ingress of `index` (an ifindex in `namespace`, the
    /// caller's own when nil). The objects must be loaded.
    public func attach(interface name: String, index: Int32, namespace: NetworkNamespace?) throws(BPFError) {
        try check("attach the fast path to \(name)",
                  swnet_bpf_attach_tcx_ingress(namespace?.fd ?? -1, fds[Int(SWNET_FP_PROGRAM)], index))
    }

    /// Detaches the program from `index`; a device that is gone, or without it, is fine.
    public func detach(index: Int32, namespace: NetworkNamespace?) throws(BPFError) {
        guard !fds.isEmpty else { return }
        try check("detach the fast path from interface \(index)",
                  swnet_bpf_detach_tcx_ingress(namespace?.fd ?? -1, fds[Int(SWNET_FP_PROGRAM)], index))
    }

    // MARK: maps

    /// Marks a device as a port of `network` (the program acts only on ports): a container's
    /// host-side veth, or (`tunnel`) an overlay's VXLAN device or underlay interface. A device
    /// that is an underlay interface too stays one.
    public func setPort(interfaceIndex: UInt32, network: UInt32, tunnel: Bool = false) throws(BPFError) {
        let underlay = (port(interfaceIndex)?.flags ?? 0) & UInt32(SWNET_FP_PORT_UNDERLAY)
        try writePort(interfaceIndex, swnet_fp_port(network: network, flags: (tunnel ? UInt32(SWNET_FP_PORT_TUNNEL) : 0) | underlay))
    }

    public func removePort(interfaceIndex: UInt32) throws(BPFError) {
        var key = interfaceIndex
        try check("update swnet_fp_ports", swnet_bpf_map_delete(portsFD, &key))
    }

    /// Marks a device as an underlay interface VXLAN packets arrive on (the program takes those
    /// for containers here off the device's path); a port it already is stays one.
    public func addUnderlay(interfaceIndex: UInt32) throws(BPFError) {
        var value = port(interfaceIndex) ?? swnet_fp_port(network: 0, flags: 0)
        value.flags |= UInt32(SWNET_FP_PORT_UNDERLAY)
        try writePort(interfaceIndex, value)
    }

    /// The device is no underlay interface any more; true when it is no port at all now (the
    /// caller detaches the program).
    public func removeUnderlay(interfaceIndex: UInt32) throws(BPFError) -> Bool {
        guard var value = port(interfaceIndex) else { return true }
        value.flags &= ~UInt32(SWNET_FP_PORT_UNDERLAY)
        if value.flags != 0 || value.network != 0 {
            try writePort(interfaceIndex, value)
            return false
        }
        try removePort(interfaceIndex: interfaceIndex)
        return true
    }

    /// Ports as (host-side ifindex, network, whether it is an underlay interface).
    public func ports() throws(BPFError) -> [(interfaceIndex: UInt32, network: UInt32, underlay: Bool)] {
        try keys(portsFD, as: UInt32.self).compactMap { key in
            port(key).map { (key, $0.network, $0.flags & UInt32(SWNET_FP_PORT_UNDERLAY) != 0) }
        }
    }

    private func port(_ interfaceIndex: UInt32) -> swnet_fp_port? {
        var key = interfaceIndex
        var value = swnet_fp_port()
        return swnet_bpf_map_lookup(portsFD, &key, &value) == 0 ? value : nil
    }

    private func writePort(_ interfaceIndex: UInt32, _ value: swnet_fp_port) throws(BPFError) {
        var key = interfaceIndex
        var value = value
        try check("update swnet_fp_ports", swnet_bpf_map_update(portsFD, &key, &value))
    }

    public func setOverlay(_ overlay: FastPathOverlay) throws(BPFError) {
        var key = overlay.network
        var value = swnet_fp_network()
        value.tunnel_ifindex = overlay.tunnelInterfaceIndex
        withUnsafeMutableBytes(of: &value.cluster_address) { $0.copyBytes(from: overlay.clusterSubnet.address.bytes) }
        let mask = UInt32.max << (32 - UInt32(overlay.clusterSubnet.prefixLength))
        value.cluster_mask = overlay.clusterSubnet.prefixLength == 0 ? 0 : mask.bigEndian
        withUnsafeMutableBytes(of: &value.gateway_mac) { $0.copyBytes(from: overlay.gatewayMAC.bytes) }
        if let subnet6 = overlay.clusterSubnet6 {
            withUnsafeMutableBytes(of: &value.cluster6_address) { $0.copyBytes(from: subnet6.address.bytes.prefix(8)) }
            value.cluster6_mask = (UInt64.max << (64 - UInt64(subnet6.prefixLength))).bigEndian
        }
        let previous = self.overlay(network: overlay.network)?.vxlan
        if let vxlan = overlay.vxlan {
            value.vxlan_port = vxlan.port.bigEndian
            value.vxlan_vni = (vxlan.vni << 8).bigEndian
            withUnsafeMutableBytes(of: &value.local_address) { $0.copyBytes(from: vxlan.localAddress.bytes) }
            value.underlay_ifindex = vxlan.underlayInterfaceIndex
            withUnsafeMutableBytes(of: &value.vtep_mac) { $0.copyBytes(from: vxlan.vtepMAC.bytes) }
            var vxlanKey = Self.vxlanKey(vxlan)
            var network = overlay.network
            try check("update swnet_fp_vxlan", swnet_bpf_map_update(vxlanFD, &vxlanKey, &network))
        }
        try check("update swnet_fp_networks", swnet_bpf_map_update(networksFD, &key, &value))
        if let previous, previous.vni != overlay.vxlan?.vni || previous.port != overlay.vxlan?.port {
            var vxlanKey = Self.vxlanKey(previous)
            try check("update swnet_fp_vxlan", swnet_bpf_map_delete(vxlanFD, &vxlanKey))
        }
    }

    public func removeOverlay(network: UInt32) throws(BPFError) {
        var key = network
        let vxlan = overlay(network: network)?.vxlan
        try check("update swnet_fp_networks", swnet_bpf_map_delete(networksFD, &key))
        if let vxlan {
            var vxlanKey = Self.vxlanKey(vxlan)
            try check("update swnet_fp_vxlan", swnet_bpf_map_delete(vxlanFD, &vxlanKey))
        }
    }

    public func overlay(network: UInt32) -> FastPathOverlay? {
        var key = network
        var value = swnet_fp_network()
        guard swnet_bpf_map_lookup(networksFD, &key, &value) == 0,
              let gatewayMAC = MACAddress(bytes: withUnsafeBytes(of: value.gateway_mac) { Array($0) }) else { return nil }
        let prefix = UInt32(bigEndian: value.cluster_mask).nonzeroBitCount
        guard let address = IPAddress(bytes: withUnsafeBytes(of: value.cluster_address) { Array($0) }),
              let subnet = IPNetwork(address: address, prefixLength: prefix) else { return nil }
        let prefix6 = UInt64(bigEndian: value.cluster6_mask).nonzeroBitCount
        let subnet6 = prefix6 == 0 ? nil : IPAddress(bytes: withUnsafeBytes(of: value.cluster6_address) { Array($0) } + Array(repeating: 0, count: 8))
            .flatMap { IPNetwork(address: $0, prefixLength: prefix6) }
        var vxlan: FastPathVXLAN?
        if value.vxlan_port != 0, let local = IPAddress(bytes: withUnsafeBytes(of: value.local_address) { Array($0) }),
           let vtepMAC = MACAddress(bytes: withUnsafeBytes(of: value.vtep_mac) { Array($0) }) {
            vxlan = FastPathVXLAN(vni: UInt32(bigEndian: value.vxlan_vni) >> 8, port: UInt16(bigEndian: value.vxlan_port),
                                  localAddress: local, underlayInterfaceIndex: value.underlay_ifindex, vtepMAC: vtepMAC)
        }
        return FastPathOverlay(network: network, tunnelInterfaceIndex: value.tunnel_ifindex, clusterSubnet: subnet,
                               clusterSubnet6: subnet6, gatewayMAC: gatewayMAC, vxlan: vxlan)
    }

    /// Networks with an overlay entry.
    public func overlayNetworks() throws(BPFError) -> [UInt32] {
        try keys(networksFD, as: UInt32.self)
    }

    private static func vxlanKey(_ vxlan: FastPathVXLAN) -> swnet_fp_vxlan_key {
        swnet_fp_vxlan_key(vni: (vxlan.vni << 8).bigEndian, port: vxlan.port.bigEndian, pad: 0)
    }

    /// Makes the peers of the VXLAN device `tunnelInterfaceIndex` exactly `peers`; returns how
    /// many entries it changed.
    @discardableResult
    public func setPeers(tunnelInterfaceIndex: UInt32, _ peers: [FastPathPeer]) throws(BPFError) -> Int {
        let current = Set(try self.peers().filter { $0.tunnelInterfaceIndex == tunnelInterfaceIndex })
        let wanted = Set(peers)
        for peer in current.subtracting(wanted) { try removePeer(peer) }
        for peer in wanted.subtracting(current) {
            var key = Self.peerKey(peer)
            var value = swnet_fp_peer()
            withUnsafeMutableBytes(of: &value.underlay_address) { $0.copyBytes(from: peer.underlayAddress.bytes) }
            try check("update swnet_fp_peers", swnet_bpf_map_update(peersFD, &key, &value))
        }
        return current.symmetricDifference(wanted).count
    }

    public func removePeer(_ peer: FastPathPeer) throws(BPFError) {
        var key = Self.peerKey(peer)
        try check("update swnet_fp_peers", swnet_bpf_map_delete(peersFD, &key))
    }

    public func peers() throws(BPFError) -> [FastPathPeer] {
        try keys(peersFD, as: swnet_fp_peer_key.self).compactMap { key in
            var key = key
            var value = swnet_fp_peer()
            guard swnet_bpf_map_lookup(peersFD, &key, &value) == 0,
                  let mac = MACAddress(bytes: withUnsafeBytes(of: key.mac) { Array($0) }),
                  let address = IPAddress(bytes: withUnsafeBytes(of: value.underlay_address) { Array($0) }) else { return nil }
            return FastPathPeer(tunnelInterfaceIndex: key.tunnel_ifindex, mac: mac, underlayAddress: address)
        }
    }

    private static func peerKey(_ peer: FastPathPeer) -> swnet_fp_peer_key {
        var key = swnet_fp_peer_key()
        key.tunnel_ifindex = peer.tunnelInterfaceIndex
        withUnsafeMutableBytes(of: &key.mac) { $0.copyBytes(from: peer.mac.bytes) }
        return key
    }

    public func setEndpoint(_ endpoint: FastPathEndpoint) throws(BPFError) {
        var key = Self.key(network: endpoint.network, address: endpoint.address)
        var value = swnet_fp_endpoint()
        value.ifindex = endpoint.hostInterfaceIndex
        withUnsafeMutableBytes(of: &value.mac) { $0.copyBytes(from: endpoint.mac.bytes) }
        try check("update swnet_fp_endpoints", swnet_bpf_map_update(endpointsFD, &key, &value))
    }

    public func removeEndpoint(network: UInt32, address: IPAddress) throws(BPFError) {
        var key = Self.key(network: network, address: address)
        try check("update swnet_fp_endpoints", swnet_bpf_map_delete(endpointsFD, &key))
    }

    public func endpoint(network: UInt32, address: IPAddress) -> FastPathEndpoint? {
        var key = Self.key(network: network, address: address)
        var value = swnet_fp_endpoint()
        guard swnet_bpf_map_lookup(endpointsFD, &key, &value) == 0,
              let mac = MACAddress(bytes: withUnsafeBytes(of: value.mac) { Array($0) }) else { return nil }
        return FastPathEndpoint(network: network, address: address, hostInterfaceIndex: value.ifindex, mac: mac)
    }

    public func endpoints() throws(BPFError) -> [FastPathEndpoint] {
        try keys(endpointsFD, as: swnet_fp_endpoint_key.self).compactMap { key in
            let raw = withUnsafeBytes(of: key.address) { Array($0) }
            let isV4 = raw.prefix(10).allSatisfy { $0 == 0 } && raw[10] == 0xff && raw[11] == 0xff
            return IPAddress(bytes: isV4 ? Array(raw.suffix(4)) : raw).flatMap { endpoint(network: key.network, address: $0) }
        }
    }

    /// Packets since the programs were loaded: sent straight to a neighbour on this host, to the
    /// tunnel device, from the tunnel device into a container, encapsulated in VXLAN by the
    /// program and sent out of the underlay interface, taken out of VXLAN on the underlay
    /// interface into a container, and left to the normal path (counted for the IP packets the
    /// programs looked up on containers' ports and tunnel devices).
    public struct Counters: Sendable, Equatable {
        public var redirected: UInt64
        public var toTunnel: UInt64
        public var fromTunnel: UInt64
        public var encapsulated: UInt64
        public var decapsulated: UInt64
        public var passed: UInt64
    }

    public func counters() throws(BPFError) -> Counters {
        func read(_ index: Int) throws(BPFError) -> UInt64 {
            var sum: UInt64 = 0
            try check("read swnet_fp_counters", swnet_bpf_percpu_sum(countersFD, UInt32(index), &sum))
            return sum
        }
        return Counters(redirected: try read(Int(SWNET_FP_REDIRECTED)), toTunnel: try read(Int(SWNET_FP_TO_TUNNEL)),
                        fromTunnel: try read(Int(SWNET_FP_FROM_TUNNEL)), encapsulated: try read(Int(SWNET_FP_ENCAPSULATED)),
                        decapsulated: try read(Int(SWNET_FP_DECAPSULATED)), passed: try read(Int(SWNET_FP_PASSED)))
    }

    static func key(network: UInt32, address: IPAddress) -> swnet_fp_endpoint_key {
        var key = swnet_fp_endpoint_key()
        key.network = network
        let bytes = address.family == .v4 ? [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + address.bytes : address.bytes
        withUnsafeMutableBytes(of: &key.address) { $0.copyBytes(from: bytes) }
        return key
    }

    private func keys<Key>(_ fd: Int32, as: Key.Type, capacity: Int = Int(SWNET_FP_MAX_ENDPOINTS)) throws(BPFError) -> [Key] {
        let buffer = UnsafeMutablePointer<Key>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count = swnet_bpf_map_keys(fd, buffer, MemoryLayout<Key>.size, Int32(capacity))
        if count < 0 { throw BPFError(operation: "list a fast path map", errno: -count) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(count)))
    }

    private func check(_ operation: @autoclosure () -> String, _ result: Int32) throws(BPFError) {
        if result < 0 { throw BPFError(operation: operation(), errno: -result) }
    }
}

private func readText(_ path: String) throws(BPFError) -> String {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw BPFError(operation: "read \(path)", errno: errno) }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = read(fd, &buffer, buffer.count)
    if count < 0 { throw BPFError(operation: "read \(path)", errno: errno) }
    return String(decoding: buffer.prefix(count), as: UTF8.self)
}

/// Written to a temporary file and renamed: a reader never sees half the ids.
private func writeText(_ text: String, to path: String) throws(BPFError) {
    let temporary = path + ".tmp"
    let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    if fd < 0 { throw BPFError(operation: "write \(temporary)", errno: errno) }
    let bytes = Array(text.utf8)
    let written = write(fd, bytes, bytes.count)
    close(fd)
    if written != bytes.count || rename(temporary, path) != 0 { throw BPFError(operation: "write \(path)", errno: errno) }
}
