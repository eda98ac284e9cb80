#if canImport(Glibc)
import Glibc
#endif
import CSwnetShims
import IPAM
import JSON
import Netlink

/// What `swnet attach` asks for, in pipework's grammar:
/// `TARGET NETWORK [IP/LEN[@GATEWAY]]... [MAC|U:STRING] [-i IFNAME] [-l HOST_IFNAME] [--mtu N]`,
/// with at most one IP/LEN per family (an IPv4 and an IPv6 one on a dual-stack network).
public struct AttachRequest: Sendable {
    public enum MACChoice: Sendable, Equatable {
        case fixed(MACAddress)
        /// `U:STRING`: derived from STRING, the same on every run.
        case derived(String)

        var address: MACAddress {
            switch self {
            case .fixed(let mac): mac
            case .derived(let seed): InterfaceNames.stableMAC(seed: seed)
            }
        }
    }

    public var target: String
    /// How to name the target in records and messages, when not as resolved (e.g. a container).
    public var targetLabel: String?
    public var network: String
    /// Requested addresses, at most one per family; a family of the network left out gets one allocated.
    public var addresses: [InterfaceAddress]
    /// `@GATEWAY`s, at most one per family, each of the family of one of `addresses`: it
    /// replaces the container's default route of its family.
    public var gateways: [IPAddress]
    public var mac: MACChoice?
    public var containerInterface: String?
    public var hostInterface: String?
    public var mtu: UInt32?
    /// Set by the CNI plugin: recorded with the attachment.
    public var cni: CNIMembership?
    /// `--rate RATE[/BURST]`: a tbf on both directions of the container's traffic.
    public var rate: RateLimit?
    /// `dhcp[:OPTIONS]`: the address comes from a DHCP server, through a client kept running
    /// inside the container's namespace (see DHCP.swift); nil: static or allocated.
    public var dhcp: DHCPRequest?
    /// When NETWORK is a host interface (not a bridge): how the container gets onto it.
    public var hostInterfaceMode: HostInterfaceMode?
    /// `@VID`: a VLAN sub-interface of the host interface NETWORK carries the container's traffic.
    public var vlan: UInt16?

    public init(target: String, network: String, address: InterfaceAddress? = nil, gateway: IPAddress? = nil,
                mac: MACChoice? = nil, containerInterface: String? = nil, hostInterface: String? = nil, mtu: UInt32? = nil) {
        self.target = target
        self.network = network
        self.addresses = address.map { [$0] } ?? []
        self.gateways = gateway.map { [$0] } ?? []
        self.mac = mac
        self.containerInterface = containerInterface
        self.hostInterface = hostInterface
        self.mtu = mtu
    }

    public func address(_ family: IPFamily) -> InterfaceAddress? {
        addresses.first { $0.family == family }
    }

    public func gateway(_ family: IPFamily) -> IPAddress? {
        gateways.first { $0.family == family }
    }
}

/// What an attach made.
public struct AttachResult: Sendable, JSONRepresentable {
    public var attachment: Attachment
    public var bridge: String
    public var createdNetwork: Bool
    /// The gateways of the container's default routes (one per family) swnet added or replaced.
    public var defaultRoutes: [IPAddress]

    /// The first family's default route.
    public var defaultRoute: IPAddress? { defaultRoutes.first }

    public var json: JSON {
        let routes: [JSON] = defaultRoutes.map { ["destination": "default", "gateway": .string($0.description)] }
        return [
            "target": .string(attachment.target),
            "network": .string(attachment.network),
            "bridge": .string(bridge),
            "createdNetwork": .bool(createdNetwork),
            "hostInterface": .string(attachment.hostInterface),
            "containerInterface": .string(attachment.containerInterface),
            "mac": attachment.mac.map { .string($0.description) } ?? .null,
            "mtu": .int(Int64(attachment.mtu)),
            "addresses": .array(attachment.addresses.map { .string($0.description) }),
            "routes": .array(routes),
            "dataPath": .string(attachment.dataPath),
        ]
    }
}

extension Swnet {
    @discardableResult
    public func attach(_ request: AttachRequest) throws -> AttachResult {
        let target = try checkedTarget(of: request)
        return try store.write { state in try attach(request, target: target, in: state) }
    }

    /// The attach itself, in the caller's transaction. The records (pending) are committed
    /// before the kernel is touched, so that gc can undo what a crash part-way leaves.
    package func attach(_ request: AttachRequest, target: ResolvedTarget, in state: borrowing StateTransaction) throws -> AttachResult {
        try Rollback().run { rollback in
            let (network, created) = try networkForAttach(request, in: state)
            let pools = try checkedPools(for: request, on: network)
            try clearStaleAttachment(network: network.name, namespaceID: target.namespaceID, target: target, in: state)

            let netlink = try hostNetlink()
            let hostName = request.hostInterface
                ?? InterfaceNames.hostSide(namespaceID: target.namespaceID, network: network.name)
            if try netlink.link(named: hostName) != nil {
                throw SwnetError.interfaceExists(hostName)
            }
            let container = try NetlinkHandle(namespace: target.namespace)
            let containerName = try containerInterfaceName(request.containerInterface, in: container, target: target)
            let addresses = try pools.map { pool in
                try lease(request.address(pool.subnet.family), pool: pool, network: network.name, owner: target.namespaceID, in: state)
            }
            Log.debug("attach \(target.label): leased \(addresses.map(\.description).joined(separator: ", ")) on network \(network.name)")
            let gateways = network.families.compactMap { request.gateway($0) ?? network.gateway($0) }

            var attachment = Attachment(
                network: network.name, namespaceID: target.namespaceID, target: target.label,
                namespacePath: target.path, hostInterface: hostName, containerInterface: containerName, mac: nil,
                addresses: addresses, gateways: gateways, mtu: 0, phase: .pending,
                created: Int64(time(nil)), cni: request.cni)
            try state.save(attachment)
            try state.commitPending { state in
                for address in addresses { try state.releaseLease(network: network.name, address: address.address) }
                try state.removeAttachment(network: network.name, namespaceID: target.namespaceID)
                if created { try state.removeNetwork(named: network.name) }
            }

            let (bridge, madeBridge) = try ensureBridge(for: network, rollback: rollback)
            attachment.mtu = request.mtu ?? network.mtu ?? bridge.mtu
            try createVethPair(hostName: hostName, containerName: containerName, mtu: attachment.mtu, mac: request.mac,
                               bridge: bridge, target: target, rollback: rollback)
            Log.debug("attach \(target.label): veth \(hostName) on bridge \(network.bridge), \(containerName) inside, mtu \(attachment.mtu)")

            guard let inside = try container.link(named: containerName) else {
                throw SwnetError("interface \(containerName) vanished from \(target.label)")
            }
            attachment.mac = inside.mac
            let defaultRoutes = try configureInside(container, interface: inside, addresses: addresses, gateways: gateways,
                                                    replacing: Set(request.gateways.map(\.family)), target: target)
            Log.debug("attach \(target.label): \(containerName) up with \(addresses.map(\.description).joined(separator: ", "))"
                      + "\(defaultRoutes.isEmpty ? "" : ", default route via \(defaultRoutes.map(\.description).joined(separator: ", "))")")
            // Only an address somebody held before may be cached with another MAC: a fresh one
            // is not announced, which spares every other port of the bridge a broadcast.
            if let address = attachment.address(.v4), let mac = inside.mac,
               try state.takeReleased(network: network.name, address: address.address) {
                announce(mac: mac, interface: inside, hostInterface: hostName, container: container)
            }
            if let rate = request.rate { try applyRate(rate, hostInterface: hostName, container: container, inside: inside) }

            try enableFastPath(&attachment, network: network, bridge: bridge, mac: inside.mac, rollback: rollback)
            // A new network, or a bridge remade after a reboot (the table went with it).
            if created || madeBridge { try renderFirewall(in: state) }
            attachment.phase = .active
            try state.save(attachment)
            return AttachResult(attachment: attachment, bridge: network.bridge, createdNetwork: created, defaultRoutes: defaultRoutes)
        }
    }

    /// What every attach checks before it takes the lock: names, MTU, privileges; then the target.
    func checkedTarget(of request: AttachRequest) throws -> ResolvedTarget {
        if let name = request.containerInterface { try InterfaceNames.validate(name, role: "container interface") }
        if let name = request.hostInterface { try InterfaceNames.validate(name, role: "host interface") }
        try NetworkRules.checkMTU(request.mtu)
        try requireNetworkPrivileges(for: "attach")
        let target = try resolveTarget(request.target)
        guard let label = request.targetLabel else { return target }
        return ResolvedTarget(label: label, path: target.path, namespace: target.namespace)
    }

    /// NETWORK may be a swnet network, the bridge of one, an existing Linux bridge swnet did not
    /// create (adopted as it is), or a new name: then, as pipework does, swnet creates the
    /// bridge and a network whose subnet comes from IP/LEN.
    private func networkForAttach(_ request: AttachRequest, in state: borrowing StateTransaction) throws -> (NetworkDefinition, created: Bool) {
        if let network = try state.network(namedOrBridge: request.network) { return (network, false) }
        try NetworkRules.checkName(request.network)
        guard !request.addresses.isEmpty else {
            throw SwnetError.notFound("network \(request.network) does not exist; give IP/LEN to create it, or run swnet network create")
        }
        let existing = try hostNetlink().link(named: request.network)
        if let existing, existing.kind != .bridge {
            throw SwnetError("interface \(request.network) exists and is not a bridge")
        }
        if existing == nil { try NetworkRules.checkBridgeName(request.network) }
        let subnets = request.addresses.map(\.network)
        try NetworkRules.checkSubnetsAreFree(subnets, among: state.networks())
        let adopted = existing != nil
        // An explicit gateway inside the subnet is the bridge's address; an off-link one is not ours.
        let gateways = subnets.compactMap { subnet in
            request.gateway(subnet.family).flatMap { subnet.contains($0) ? $0 : nil }
                ?? (adopted || request.gateway(subnet.family) != nil ? nil : AddressPool.defaultGateway(for: subnet))
        }
        let network = NetworkDefinition(name: request.network, subnets: subnets, gateways: gateways, bridge: request.network,
                                        mtu: nil, managesBridge: !adopted, created: Int64(time(nil)))
        try state.save(network)
        return (network, true)
    }

    /// The network's pools, one per family, after checking the requested addresses and
    /// gateways against them: an address needs a subnet of its family and must fit it; an
    /// IPv4 gateway lies in the subnet, an IPv6 one may be off-link (it gets a route of its own).
    private func checkedPools(for request: AttachRequest, on network: NetworkDefinition) throws -> [AddressPool] {
        var pools: [AddressPool] = []
        for family in network.families {
            do { if let pool = try network.pool(family) { pools.append(pool) } } catch {
                throw SwnetError("network \(network.name): \(error)")
            }
        }
        for address in request.addresses {
            guard let pool = pools.first(where: { $0.subnet.family == address.family }) else {
                throw SwnetError.invalid("\(address) is \(address.family) but network \(network.name) has no \(address.family) subnet")
            }
            guard address.network == pool.subnet else {
                throw SwnetError.invalid("\(address) does not match subnet \(pool.subnet) of network \(network.name)")
            }
            do { try pool.validate(requested: address.address) } catch { throw SwnetError.invalid("\(error)") }
        }
        for gateway in request.gateways where gateway.family == .v4 {
            if let subnet = network.subnet(.v4), !subnet.contains(gateway) {
                throw SwnetError.invalid("gateway \(gateway) is outside subnet \(subnet) of network \(network.name)")
            }
        }
        return pools
    }

    /// One attachment per namespace and network. A record whose host link is gone belongs to a
    /// namespace that died (its inode was reused), and a pending one to a swnet that died part-way
    /// (we hold the lock): either is cleared, with what it made, instead of blocking the attach.
    private func clearStaleAttachment(network: String, namespaceID: NamespaceIdentity, target: ResolvedTarget,
                                      in state: borrowing StateTransaction) throws {
        guard let existing = try state.attachment(network: network, namespaceID: namespaceID) else { return }
        let hostLinkExists = try hostNetlink().link(named: existing.hostInterface) != nil
        if existing.phase == .active && hostLinkExists {
            throw SwnetError.alreadyAttached(target: target.label, network: network, interface: existing.containerInterface,
                                             address: existing.address.description)
        }
        if hostLinkExists { try deleteLinks(named: [existing.hostInterface]) }
        try release(existing, in: state)
    }

    func containerInterfaceName(_ requested: String?, in container: NetlinkHandle, target: ResolvedTarget) throws -> String {
        if let requested {
            if try container.link(named: requested) != nil {
                throw SwnetError.interfaceExists("\(requested) in \(target.label)")
            }
            return requested
        }
        for number in 0..<1000 where try container.link(named: "eth\(number)") == nil {
            return "eth\(number)"
        }
        throw SwnetError("no free ethN interface name in \(target.label)")
    }

    /// Claims the requested address, or the next free one after the family's allocation
    /// cursor: the first candidate is normally free, so the cost does not grow with the pool.
    private func lease(_ requested: InterfaceAddress?, pool: AddressPool, network: String,
                       owner: NamespaceIdentity, in state: borrowing StateTransaction) throws -> InterfaceAddress {
        let chosen: IPAddress
        if let requested {
            guard try state.claimLease(network: network, address: requested.address, owner: owner) else {
                throw SwnetError.addressInUse(address: requested.address.description, network: network)
            }
            chosen = requested.address
        } else {
            let cursor = try state.allocationCursor(network: network, family: pool.subnet.family)
            guard let free = try pool.candidates(after: cursor).first(where: {
                try state.claimLease(network: network, address: $0, owner: owner)
            }) else {
                throw SwnetError.addressesExhausted(network: network, subnet: pool.subnet.description)
            }
            try state.setAllocationCursor(network: network, free)
            chosen = free
        }
        return InterfaceAddress(address: chosen, prefixLength: pool.subnet.prefixLength)!
    }

    /// The pair is made in one request, the host side enslaved to the bridge (in swnet's link
    /// group) and the peer created directly inside the container's namespace (named, MAC, MTU). Then, in one batch,
    /// the host side gets no IPv6 link-local address (a bridge port needs none, and its DAD and
    /// MLD packets would be flooded to every other port) and goes up. The batch follows only a
    /// successful create, so it can never touch somebody else's link of the same name.
    func createVethPair(hostName: String, containerName: String, mtu: UInt32, mac: AttachRequest.MACChoice?,
                        bridge: Link, target: ResolvedTarget, rollback: Rollback) throws {
        var peer = VethPeer(name: containerName)
        peer.namespace = target.namespace
        peer.mtu = mtu
        peer.mac = mac?.address
        var spec = LinkSpec(name: hostName, kind: .veth(peer: peer))
        spec.mtu = mtu
        spec.masterIndex = bridge.index
        spec.group = InterfaceNames.hostSideGroup
        let netlink = try hostNetlink()
        do { try netlink.addLink(spec) } catch {
            throw SwnetError.during("create veth \(hostName) for \(target.label)", error)
        }
        // Deleting one end removes both.
        rollback.onFailure { try? netlink.deleteLink(named: hostName) }
        // No IPv6 at all on the port, before it goes up: besides DAD and MLD, an interface with
        // IPv6 gets an ff00::/8 route, and the kernel walks the whole IPv6 table at every link
        // up and down: with N ports, every attach and detach would pay for N routes.
        let result = swnet_write_sysctl_in_netns(hostNamespace?.fd ?? -1, "/proc/sys/net/ipv6/conf/\(hostName)/disable_ipv6", "1")
        if result < 0 && result != -ENOENT {
            throw SwnetError.during("disable IPv6 on \(hostName)", SystemError("write disable_ipv6", errno: -result))
        }
        var up = NetlinkBatch()
        up.setLink(named: hostName, LinkChanges(up: true))
        do { try netlink.execute(up) } catch {
            throw SwnetError.during("bring up \(hostName)", error)
        }
    }

    /// The container side in one batch, one round trip: settings, addresses, up, default
    /// routes (one per family). An interface without IPv6 address stays out of IPv6, as
    /// Docker does. With one, it gets the link-local address the kernel would make (the
    /// kernel's neighbour probes take their source from it), added by swnet with the others,
    /// all without duplicate address detection: usable at once. No sysctl is written in the
    /// container's namespace: every namespace that looks up /proc/sys/net adds a dentry of that
    /// name under /proc/sys, and each later lookup in any namespace compares against all of
    /// them, which made attaches grow with the number of containers. The router solicitation
    /// the link-local address triggers and the MLD reports stop at the bridge (addBridgeRules).
    /// An off-link IPv6 gateway first gets a route onto the interface.
    /// A gateway of a family in `replacing` (an explicit `@GATEWAY`) replaces the container's
    /// default route; a network's gateway becomes the default route unless the container has
    /// one of its family already. Returns the gateways of the default routes set.
    func configureInside(_ container: NetlinkHandle, interface: Link, addresses: [InterfaceAddress],
                         gateways: [IPAddress], replacing: Set<IPFamily>, target: ResolvedTarget) throws -> [IPAddress] {
        var batch = NetlinkBatch()
        batch.setLink(index: interface.index, LinkChanges(ipv6AddressGeneration: IPv6AddressGeneration.none))
        var all = addresses
        if addresses.contains(where: { $0.family == .v6 }), let mac = interface.mac, let linkLocal = IPv6Address.linkLocal(mac: mac.bytes) {
            all.append(InterfaceAddress(address: .v6(linkLocal), prefixLength: 64)!)
        }
        for address in all { batch.addAddress(address, interfaceIndex: interface.index, noDAD: address.family == .v6) }
        batch.setLink(index: interface.index, LinkChanges(up: true))
        for gateway in gateways {
            if gateway.family == .v6, !addresses.contains(where: { $0.network.contains(gateway) }) {
                let onLink = IPNetwork(address: gateway, prefixLength: gateway.family.bitWidth)!
                batch.replaceRoute(Route(destination: onLink, outputInterface: interface.index))
            }
            let route = Route.defaultRoute(via: gateway, outputInterface: interface.index)
            if replacing.contains(gateway.family) { batch.replaceRoute(route) } else { batch.addRoute(route) }
        }
        do {
            try container.execute(batch)
            return gateways
        } catch where error.isExists && !gateways.isEmpty {
            // Only a route can exist already on a new interface: the container has its own
            // default route of a family. The batch went on past it; which routes are ours:
            return try gateways.filter { gateway in
                try container.routes(family: gateway.family).contains {
                    $0.destination.prefixLength == 0 && $0.gateway == gateway && $0.outputInterface == interface.index
                }
            }
        } catch {
            throw SwnetError.during("configure \(interface.name) in \(target.label)", error)
        }
    }

    /// One gratuitous ARP, sent by the kernel: with arp_notify on, re-asserting the interface's
    /// MAC makes it announce its addresses (arp_notify is set only now, so that bringing the
    /// link up earlier sent none into a bridge port not yet forwarding). First the host side's carrier change is applied, so
    /// the bridge port forwards the announcement instead of dropping it. pipework's arping waits
    /// a second for replies; a packet socket of our own would wait ~10 ms for RCU on close.
    /// Best effort: the address works without it.
    private func announce(mac: MACAddress, interface: Link, hostInterface: String, container: NetlinkHandle) {
        _ = try? hostNetlink().synchronizeCarrier(named: hostInterface)
        var batch = NetlinkBatch()
        batch.setLink(index: interface.index, LinkChanges(arpNotify: true))
        batch.setLink(index: interface.index, LinkChanges(mac: mac))
        try? container.execute(batch)
    }

    /// Forgets an attachment: its lease and its record (the caller removes its link).
    package func release(_ attachment: Attachment, in state: borrowing StateTransaction) throws {
        try disableFastPath([attachment])
        for address in attachment.addresses
        where try state.leaseOwner(network: attachment.network, address: address.address) == attachment.namespaceID {
            try state.releaseLease(network: attachment.network, address: address.address)
        }
        try state.removeAttachment(network: attachment.network, namespaceID: attachment.namespaceID)
    }
}
