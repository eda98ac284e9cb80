#if canImport(Glibc)
import Glibc
#endif
import CSwnetShims
import IPAM
import JSON
import Netlink

/// What `swnet attach` asks for, in pipework's grammar:
/// `TARGET NETWORK [IP/LEN[@GATEWAY]] [MAC|U:STRING] [-i IFNAME] [-l HOST_IFNAME] [--mtu N]`.
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
    public var address: InterfaceAddress?
    public var gateway: IPAddress?
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
        self.address = address
        self.gateway = gateway
        self.mac = mac
        self.containerInterface = containerInterface
        self.hostInterface = hostInterface
        self.mtu = mtu
    }
}

/// What an attach made.
public struct AttachResult: Sendable, JSONRepresentable {
    public var attachment: Attachment
    public var bridge: String
    public var createdNetwork: Bool
    /// The container's default route, when swnet added or replaced it.
    public var defaultRoute: IPAddress?

    public var json: JSON {
        var routes: [JSON] = []
        if let defaultRoute { routes.append(["destination": "default", "gateway": .string(defaultRoute.description)]) }
        return [
            "target": .string(attachment.target),
            "network": .string(attachment.network),
            "bridge": .string(bridge),
            "createdNetwork": .bool(createdNetwork),
            "hostInterface": .string(attachment.hostInterface),
            "containerInterface": .string(attachment.containerInterface),
            "mac": attachment.mac.map { .string($0) } ?? .null,
            "mtu": .int(Int64(attachment.mtu)),
            "addresses": [.string(attachment.address.description)],
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
    func attach(_ request: AttachRequest, target: ResolvedTarget, in state: borrowing StateTransaction) throws -> AttachResult {
        try Rollback().run { rollback in
            let (network, created) = try networkForAttach(request, in: state)
            let pool: AddressPool
            do { pool = try network.pool } catch { throw SwnetError("network \(network.name): \(error)") }
            if let address = request.address { try check(address, fits: network, pool: pool) }
            if let gateway = request.gateway, !network.subnet.contains(gateway) {
                throw SwnetError.invalid("gateway \(gateway) is outside subnet \(network.subnet) of network \(network.name)")
            }
            try clearStaleAttachment(network: network.name, namespaceID: target.namespaceID, target: target, in: state)

            let netlink = try hostNetlink()
            let hostName = request.hostInterface
                ?? InterfaceNames.hostSide(namespaceID: target.namespaceID, network: network.name)
            if try netlink.link(named: hostName) != nil {
                throw SwnetError.interfaceExists(hostName)
            }
            let container = try NetlinkHandle(namespace: target.namespace)
            let containerName = try containerInterfaceName(request.containerInterface, in: container, target: target)
            let address = try lease(request.address, network: network, pool: pool, owner: target.namespaceID, in: state)
            Log.debug("attach \(target.label): leased \(address) on network \(network.name)")

            var attachment = Attachment(
                network: network.name, namespaceID: target.namespaceID, target: target.label,
                namespacePath: target.path, hostInterface: hostName, containerInterface: containerName, mac: nil,
                addresses: [address], gateways: [request.gateway ?? network.gateway].compactMap { $0 }, mtu: 0, phase: .pending,
                created: Int64(time(nil)), cni: request.cni)
            try state.save(attachment)
            try state.commitPending { state in
                try state.releaseLease(network: network.name, address: address.address)
                try state.removeAttachment(network: network.name, namespaceID: target.namespaceID)
                if created { try state.removeNetwork(named: network.name) }
            }

            let bridge = try ensureBridge(for: network, rollback: rollback)
            attachment.mtu = request.mtu ?? network.mtu ?? bridge.mtu
            try createVethPair(hostName: hostName, containerName: containerName, mtu: attachment.mtu, mac: request.mac,
                               bridge: bridge, target: target, rollback: rollback)
            Log.debug("attach \(target.label): veth \(hostName) on bridge \(network.bridge), \(containerName) inside, mtu \(attachment.mtu)")

            guard let inside = try container.link(named: containerName) else {
                throw SwnetError("interface \(containerName) vanished from \(target.label)")
            }
            attachment.mac = inside.mac?.description
            let defaultRoute = try configureInside(container, interface: inside, address: address,
                                                   gateway: request.gateway ?? network.gateway,
                                                   replacingDefault: request.gateway != nil, target: target)
            Log.debug("attach \(target.label): \(containerName) up with \(address)\(defaultRoute.map { ", default route via \($0)" } ?? "")")
            // Only an address somebody held before may be cached with another MAC: a fresh one
            // is not announced, which spares every other port of the bridge a broadcast.
            if address.family == .v4, let mac = inside.mac, try state.takeReleased(network: network.name, address: address.address) {
                announce(mac: mac, interface: inside, hostInterface: hostName, container: container)
            }
            if let rate = request.rate { try applyRate(rate, hostInterface: hostName, container: container, inside: inside) }

            try enableFastPath(&attachment, network: network, bridge: bridge, mac: inside.mac, rollback: rollback)
            if created { try renderFirewall(in: state) }
            attachment.phase = .active
            try state.save(attachment)
            return AttachResult(attachment: attachment, bridge: network.bridge, createdNetwork: created, defaultRoute: defaultRoute)
        }
    }

    /// What every attach checks before it takes the lock: names, MTU, privileges; then the target.
    func checkedTarget(of request: AttachRequest) throws -> ResolvedTarget {
        if let name = request.containerInterface { try InterfaceNames.validate(name, role: "container interface") }
        if let name = request.hostInterface { try InterfaceNames.validate(name, role: "host interface") }
        try Self.validateMTU(request.mtu)
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
        try Self.validateNetworkName(request.network)
        guard let address = request.address else {
            throw SwnetError.notFound("network \(request.network) does not exist; give IP/LEN to create it, or run swnet network create")
        }
        let existing = try hostNetlink().link(named: request.network)
        if let existing, existing.kind != "bridge" {
            throw SwnetError("interface \(request.network) exists and is not a bridge")
        }
        if existing == nil { try InterfaceNames.validate(request.network, role: "bridge") }
        let subnet = address.network
        try checkSubnetIsFree(subnet, in: state)
        let adopted = existing != nil
        let gateway = request.gateway ?? (adopted ? nil : AddressPool.defaultGateway(for: subnet))
        let network = NetworkDefinition(name: request.network, subnet: subnet, gateway: gateway, bridge: request.network,
                                        mtu: nil, managesBridge: !adopted, created: Int64(time(nil)))
        try state.save(network)
        return (network, true)
    }

    private func check(_ address: InterfaceAddress, fits network: NetworkDefinition, pool: AddressPool) throws {
        guard address.network == network.subnet else {
            throw SwnetError.invalid("\(address) does not match subnet \(network.subnet) of network \(network.name)")
        }
        do { try pool.validate(requested: address.address) } catch { throw SwnetError.invalid("\(error)") }
    }

    /// One attachment per namespace and network. A record whose host link is gone belongs to a
    /// namespace that died (its inode was reused), and a pending one to a swnet that died part-way
    /// (we hold the lock): either is cleared, with what it made, instead of blocking the attach.
    private func clearStaleAttachment(network: String, namespaceID: String, target: ResolvedTarget,
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

    /// Claims the requested address, or the next free one after the allocation cursor.
    private func lease(_ requested: InterfaceAddress?, network: NetworkDefinition, pool: AddressPool,
                       owner: String, in state: borrowing StateTransaction) throws -> InterfaceAddress {
        let chosen: IPAddress
        if let requested {
            guard try state.claimLease(network: network.name, address: requested.address, owner: owner) else {
                throw SwnetError.addressInUse(address: requested.address.description, network: network.name)
            }
            chosen = requested.address
        } else {
            let cursor = try state.allocationCursor(network: network.name)
            guard let free = try pool.candidates(after: cursor).first(where: {
                try state.claimLease(network: network.name, address: $0, owner: owner)
            }) else {
                throw SwnetError.addressesExhausted(network: network.name, subnet: network.subnet.description)
            }
            try state.setAllocationCursor(network: network.name, free)
            chosen = free
        }
        return InterfaceAddress(address: chosen, prefixLength: network.subnet.prefixLength)!
    }

    /// The pair is made in one request, the host side enslaved to the bridge and the peer
    /// created directly inside the container's namespace (named, MAC, MTU). Then, in one batch,
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

    /// The container side in one batch, one round trip: settings, address, up, default route.
    /// On an IPv4 network the interface stays out of IPv6, as Docker does.
    /// An explicit `@GATEWAY` (`replacingDefault`) replaces the container's default route; a
    /// network's gateway becomes the default route unless the container already has one.
    func configureInside(_ container: NetlinkHandle, interface: Link, address: InterfaceAddress,
                         gateway: IPAddress?, replacingDefault: Bool, target: ResolvedTarget) throws -> IPAddress? {
        let isIPv4 = address.family == .v4
        var batch = NetlinkBatch()
        if isIPv4 { batch.setLink(index: interface.index, LinkChanges(ipv6AddressGeneration: IPv6AddressGeneration.none)) }
        batch.addAddress(address, interfaceIndex: interface.index, noDAD: !isIPv4)
        batch.setLink(index: interface.index, LinkChanges(up: true))
        if let gateway {
            let route = Route.defaultRoute(via: gateway, outputInterface: interface.index)
            if replacingDefault { batch.replaceRoute(route) } else { batch.addRoute(route) }
        }
        do {
            try container.execute(batch)
            return gateway
        } catch where error.isExists && gateway != nil {
            // Only the route can exist already on a new interface: the container has its own default route.
            return nil
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
    func release(_ attachment: Attachment, in state: borrowing StateTransaction) throws {
        try disableFastPath([attachment])
        if try state.leaseOwner(network: attachment.network, address: attachment.address.address) == attachment.namespaceID {
            try state.releaseLease(network: attachment.network, address: attachment.address.address)
        }
        try state.removeAttachment(network: attachment.network, namespaceID: attachment.namespaceID)
    }
}
