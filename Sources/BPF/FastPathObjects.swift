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
    public var gatewayMAC: MACAddress

    public init(network: UInt32, tunnelInterfaceIndex: UInt32, clusterSubnet: IPNetwork, gatewayMAC: MACAddress) {
        self.network = network
        self.tunnelInterfaceIndex = tunnelInterfaceIndex
        self.clusterSubnet = clusterSubnet
        self.gatewayMAC = gatewayMAC
    }
}

/// swnet's fast path objects, pinned in one directory on a bpf filesystem: the programs
/// (`from_container`, `from_tunnel`), their maps (`swnet_fp_ports`, `swnet_fp_networks`,
/// `swnet_fp_endpoints`, `swnet_fp_counters`) and one tcx link per device under `links/`,
/// named after the device. Pinned, they outlive the swnet process that made them; a link goes
/// when its pin is removed.
public struct FastPathObjects: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public enum Program: String, Sendable {
        /// On a container's host-side veth.
        case fromContainer = "from_container"
        /// On an overlay's VXLAN device or underlay interface.
        case fromTunnel = "from_tunnel"
    }

    var programPath: String { directory + "/" + Program.fromContainer.rawValue }
    var portsPath: String { directory + "/swnet_fp_ports" }
    var networksPath: String { directory + "/swnet_fp_networks" }
    var endpointsPath: String { directory + "/swnet_fp_endpoints" }
    var countersPath: String { directory + "/swnet_fp_counters" }
    var linksDirectory: String { directory + "/links" }

    /// Whether the program is loaded and pinned.
    public var isLoaded: Bool { access(programPath, F_OK) == 0 }

    /// Mounts the bpf filesystem when needed and loads the program and maps once; a kernel
    /// without tcx or bpf_redirect_peer fails here (the verifier or the first attach says why).
    public func load() throws(BPFError) {
        try check("mount a bpf filesystem on \(directory)", swnet_bpf_ensure_fs(directory))
        var message = [CChar](repeating: 0, count: 512)
        let result = swnet_bpf_load_fastpath(directory, &message, message.count)
        if result < 0 {
            // Nothing half-loaded stays behind (the maps are pinned before the programs load).
            try? unload()
            throw BPFError(operation: "load the fast path programs", errno: -result,
                           detail: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        if mkdir(linksDirectory, 0o700) != 0 && errno != EEXIST {
            throw BPFError(operation: "create \(linksDirectory)", errno: errno)
        }
    }

    /// Attaches `program` to the tcx ingress of `index` (an ifindex in `namespace`, the
    /// caller's own when nil) and pins the link as `links/NAME`.
    public func attach(_ program: Program = .fromContainer, interface name: String, index: Int32,
                       namespace: NetworkNamespace?) throws(BPFError) {
        try check("attach the fast path to \(name)",
                  swnet_bpf_attach_tcx_ingress(namespace?.fd ?? -1, directory + "/" + program.rawValue, index, linkPath(name)))
    }

    /// Removes the link of `name` (detaching the program, if the device still exists).
    public func detach(interface name: String) throws(BPFError) {
        try check("detach the fast path from \(name)", swnet_bpf_detach_link(linkPath(name)))
    }

    /// Interfaces with a pinned link.
    public func attachedInterfaces() -> [String] {
        guard let directory = opendir(linksDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func isAttached(interface name: String) -> Bool { access(linkPath(name), F_OK) == 0 }

    private func linkPath(_ name: String) -> String { linksDirectory + "/" + name }

    // MARK: maps

    /// Marks a host-side veth as a port of `network` (the program runs only for ports).
    public func setPort(interfaceIndex: UInt32, network: UInt32) throws(BPFError) {
        var key = interfaceIndex
        var value = swnet_fp_port(network: network, flags: 0)
        try check("update swnet_fp_ports", swnet_bpf_map_update(portsPath, &key, &value))
    }

    public func removePort(interfaceIndex: UInt32) throws(BPFError) {
        var key = interfaceIndex
        try check("update swnet_fp_ports", swnet_bpf_map_delete(portsPath, &key))
    }

    /// Ports as (host-side ifindex, network).
    public func ports() throws(BPFError) -> [(interfaceIndex: UInt32, network: UInt32)] {
        var result: [(UInt32, UInt32)] = []
        for var key in try keys(portsPath, as: UInt32.self) {
            var value = swnet_fp_port()
            if swnet_bpf_map_lookup(portsPath, &key, &value) == 0 { result.append((key, value.network)) }
        }
        return result
    }

    public func setOverlay(_ overlay: FastPathOverlay) throws(BPFError) {
        var key = overlay.network
        var value = swnet_fp_network()
        value.tunnel_ifindex = overlay.tunnelInterfaceIndex
        withUnsafeMutableBytes(of: &value.cluster_address) { $0.copyBytes(from: overlay.clusterSubnet.address.bytes) }
        let mask = UInt32.max << (32 - UInt32(overlay.clusterSubnet.prefixLength))
        value.cluster_mask = overlay.clusterSubnet.prefixLength == 0 ? 0 : mask.bigEndian
        withUnsafeMutableBytes(of: &value.gateway_mac) { $0.copyBytes(from: overlay.gatewayMAC.bytes) }
        try check("update swnet_fp_networks", swnet_bpf_map_update(networksPath, &key, &value))
    }

    public func removeOverlay(network: UInt32) throws(BPFError) {
        var key = network
        try check("update swnet_fp_networks", swnet_bpf_map_delete(networksPath, &key))
    }

    /// Networks with an overlay entry.
    public func overlayNetworks() throws(BPFError) -> [UInt32] {
        try keys(networksPath, as: UInt32.self)
    }

    public func setEndpoint(_ endpoint: FastPathEndpoint) throws(BPFError) {
        var key = Self.key(network: endpoint.network, address: endpoint.address)
        var value = swnet_fp_endpoint()
        value.ifindex = endpoint.hostInterfaceIndex
        withUnsafeMutableBytes(of: &value.mac) { $0.copyBytes(from: endpoint.mac.bytes) }
        try check("update swnet_fp_endpoints", swnet_bpf_map_update(endpointsPath, &key, &value))
    }

    public func removeEndpoint(network: UInt32, address: IPAddress) throws(BPFError) {
        var key = Self.key(network: network, address: address)
        try check("update swnet_fp_endpoints", swnet_bpf_map_delete(endpointsPath, &key))
    }

    public func endpoint(network: UInt32, address: IPAddress) -> FastPathEndpoint? {
        var key = Self.key(network: network, address: address)
        var value = swnet_fp_endpoint()
        guard swnet_bpf_map_lookup(endpointsPath, &key, &value) == 0,
              let mac = MACAddress(bytes: withUnsafeBytes(of: value.mac) { Array($0) }) else { return nil }
        return FastPathEndpoint(network: network, address: address, hostInterfaceIndex: value.ifindex, mac: mac)
    }

    public func endpoints() throws(BPFError) -> [FastPathEndpoint] {
        try keys(endpointsPath, as: swnet_fp_endpoint_key.self).compactMap { key in
            let raw = withUnsafeBytes(of: key.address) { Array($0) }
            let isV4 = raw.prefix(10).allSatisfy { $0 == 0 } && raw[10] == 0xff && raw[11] == 0xff
            return IPAddress(bytes: isV4 ? Array(raw.suffix(4)) : raw).flatMap { endpoint(network: key.network, address: $0) }
        }
    }

    /// Whether the endpoint map is empty: nothing uses the fast path any more.
    public func hasEndpoints() throws(BPFError) -> Bool {
        try !keys(endpointsPath, as: swnet_fp_endpoint_key.self, capacity: 1).isEmpty
    }

    /// Removes every pinned object and the bpf filesystem: the programs detach, the maps go.
    public func unload() throws(BPFError) {
        for name in attachedInterfaces() { try detach(interface: name) }
        let programs = [Program.fromContainer, .fromTunnel].map { directory + "/" + $0.rawValue }
        for path in programs + [portsPath, networksPath, endpointsPath, countersPath] where unlink(path) != 0 && errno != ENOENT {
            throw BPFError(operation: "remove \(path)", errno: errno)
        }
        rmdir(linksDirectory)
        if umount2(directory, 0) != 0 && errno != EINVAL { throw BPFError(operation: "unmount \(directory)", errno: errno) }
        rmdir(directory)
    }

    /// Packets since the programs were loaded: sent straight to a neighbour on this host, to the
    /// tunnel, from the tunnel into a container, and left to the normal path (counted for the
    /// IP packets the programs looked up).
    public struct Counters: Sendable, Equatable {
        public var redirected: UInt64
        public var toTunnel: UInt64
        public var fromTunnel: UInt64
        public var passed: UInt64
    }

    public func counters() throws(BPFError) -> Counters {
        func read(_ index: Int) throws(BPFError) -> UInt64 {
            var sum: UInt64 = 0
            try check("read swnet_fp_counters", swnet_bpf_percpu_sum(countersPath, UInt32(index), &sum))
            return sum
        }
        return Counters(redirected: try read(Int(SWNET_FP_REDIRECTED)), toTunnel: try read(Int(SWNET_FP_TO_TUNNEL)),
                        fromTunnel: try read(Int(SWNET_FP_FROM_TUNNEL)), passed: try read(Int(SWNET_FP_PASSED)))
    }

    static func key(network: UInt32, address: IPAddress) -> swnet_fp_endpoint_key {
        var key = swnet_fp_endpoint_key()
        key.network = network
        let bytes = address.family == .v4 ? [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + address.bytes : address.bytes
        withUnsafeMutableBytes(of: &key.address) { $0.copyBytes(from: bytes) }
        return key
    }

    private func keys<Key>(_ path: String, as: Key.Type, capacity: Int = Int(SWNET_FP_MAX_ENDPOINTS)) throws(BPFError) -> [Key] {
        let buffer = UnsafeMutablePointer<Key>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count = swnet_bpf_map_keys(path, buffer, MemoryLayout<Key>.size, Int32(capacity))
        if count < 0 { throw BPFError(operation: "list \(path)", errno: -count) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(count)))
    }

    private func check(_ operation: @autoclosure () -> String, _ result: Int32) throws(BPFError) {
        if result < 0 { throw BPFError(operation: operation(), errno: -result) }
    }
}
