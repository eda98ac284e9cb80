#if canImport(Glibc)
import Glibc
#endif
import IPAM
import Netlink

extension Swnet {
    /// Whether an attach goes through `attachInterface` rather than `attach`: DHCP, a host
    /// interface mode or a VLAN was asked for, or NETWORK is neither a swnet network nor a
    /// bridge but another host interface (pipework's physical NIC case).
    public func attachesThroughInterface(_ request: AttachRequest) throws -> Bool {
        if request.dhcp != nil || request.hostInterfaceMode != nil || request.vlan != nil { return true }
        if try store.read({ state in try state.network(namedOrBridge: request.network) }) != nil { return false }
        guard let link = try hostNetlink().link(named: request.network) else { return false }
        return link.kind != .bridge
    }

    /// pipework's other ways into a container, recorded as a `LinkAttachment`:
    /// - NETWORK a bridge (a swnet network's or any) with `dhcp`: a veth pair, address by DHCP;
    /// - NETWORK a host interface: a macvlan child of it (of its `@VID` VLAN sub-interface when
    ///   asked), or with `--direct` the interface itself; address static (IP/LEN) or by DHCP.
    /// No swnet lease is taken: the address belongs to whoever runs that network.
    @discardableResult
    public func attachInterface(_ request: AttachRequest) throws -> LinkAttachment {
        if request.dhcp != nil && !request.addresses.isEmpty { throw SwnetError("give IP/LEN or dhcp, not both") }
        if request.addresses.count > 1 { throw SwnetError("an interface attach takes one IP/LEN") }
        let target = try checkedTarget(of: request)

        return try store.write { state in try attachInterface(request, target: target, in: state) }
    }

    /// Its record is committed (pending) before each kernel object is made, so that gc can
    /// undo what a crash part-way leaves.
    @discardableResult
    package func attachInterface(_ request: AttachRequest, target: ResolvedTarget,
                                 in state: borrowing StateTransaction) throws -> LinkAttachment {
        try Rollback().run { rollback in
            let netlink = try hostNetlink()
            let network = try state.network(namedOrBridge: request.network)
            let parent: Link
            if let network {
                let (bridge, madeBridge) = try ensureBridge(for: network, rollback: rollback)
                // Remade after a reboot: the table went with it.
                if madeBridge { try renderFirewall(in: state) }
                parent = bridge
            } else if let link = try netlink.link(named: request.network) {
                parent = link
            } else {
                throw SwnetError("no network, bridge or interface named \(request.network)")
            }
            let kind = try interfaceKind(for: request, parent: parent)
            let container = try NetlinkHandle(namespace: target.namespace)
            let containerName = try containerInterfaceName(request.containerInterface, in: container, target: target)
            var record = LinkAttachment(
                kind: kind, parent: parent.name, network: network?.name, namespaceID: target.namespaceID,
                target: target.label, namespacePath: target.path, containerInterface: containerName, hostInterface: nil,
                vlan: request.vlan, address: request.addresses.first, gateway: request.gateways.first, dhcp: request.dhcp != nil,
                clientPID: nil, clientStartTime: nil, mac: nil, phase: .pending, created: Int64(time(nil)))
            // A record for a name that is free again in the namespace is stale (a crash, a reused inode).
            if let stale = try state.linkAttachments(namespaceID: record.namespaceID).first(where: { $0.key == record.key }) {
                try undo(stale, container: nil, in: state)
            }
            try state.save(record)
            try state.commitPending { [record] state in try state.remove(record) }

            switch kind {
            case .veth:
                let hostName = request.hostInterface
                    ?? InterfaceNames.hostSide(namespaceID: target.namespaceID, network: "link/\(parent.name)")
                if try netlink.link(named: hostName) != nil { throw SwnetError("host interface \(hostName) already exists") }
                record.hostInterface = hostName
                try state.save(record)
                try state.commitPending()
                try createVethPair(hostName: hostName, containerName: containerName,
                                   mtu: request.mtu ?? network?.mtu ?? parent.mtu, mac: request.mac,
                                   bridge: parent, target: target, rollback: rollback)
            case .macvlan:
                let lower = try lowerInterface(of: parent, vlan: request.vlan, record: &record, rollback: rollback, in: state)
                try createMacvlan(on: lower, request: request, name: containerName, target: target,
                                  container: container, rollback: rollback)
            case .direct:
                try moveIn(parent, as: containerName, request: request, target: target, container: container, rollback: rollback)
            }

            guard let inside = try container.link(named: containerName) else {
                throw SwnetError("interface \(containerName) vanished from \(target.label)")
            }
            record.mac = inside.mac
            if !request.addresses.isEmpty {
                _ = try configureInside(container, interface: inside, addresses: request.addresses, gateways: request.gateways,
                                        replacing: Set(request.gateways.map(\.family)), target: target)
            } else {
                var batch = NetlinkBatch()
                batch.setLink(index: inside.index, LinkChanges(ipv6AddressGeneration: IPv6AddressGeneration.none))
                batch.setLink(index: inside.index, LinkChanges(up: true))
                do { try container.execute(batch) } catch { throw SwnetError.during("bring up \(containerName) in \(target.label)", error) }
            }
            if let rate = request.rate {
                if let hostName = record.hostInterface, kind == .veth {
                    try applyRate(rate, hostInterface: hostName, container: container, inside: inside)
                } else {
                    // No host side of its own: only the container's egress can be shaped.
                    do { try container.setTokenBucket(interfaceIndex: inside.index, rate.tokenBucket) } catch {
                        throw SwnetError.during("limit \(containerName) to \(rate)", error)
                    }
                }
            }
            if let dhcp = request.dhcp {
                // The bridge port forwards only once the kernel applied the carrier change: the
                // client's first DISCOVER would otherwise be dropped, costing a retry (2 s).
                if let hostName = record.hostInterface, kind == .veth { _ = try? netlink.synchronizeCarrier(named: hostName) }
                let (pid, startTime) = try startDHCPClient(dhcp, for: record, target: target)
                record.clientPID = pid
                record.clientStartTime = startTime
                rollback.onFailure { [record] in self.stopDHCPClient(of: record) }
                record.address = try container.addresses(family: .v4, interfaceIndex: inside.index).first?.address
                record.gateway = try container.routes(family: .v4).first { $0.destination.prefixLength == 0 }?.gateway
            }
            record.phase = .active
            try state.save(record)
            return record
        }
    }

    private func interfaceKind(for request: AttachRequest, parent: Link) throws -> LinkAttachment.Kind {
        if parent.kind == .bridge {
            if request.hostInterfaceMode != nil || request.vlan != nil {
                throw SwnetError("\(parent.name) is a bridge: --direct, --macvlan-mode and @VID take a host interface that is not a bridge")
            }
            guard request.dhcp != nil else { throw SwnetError("bridge \(parent.name) takes a static address through swnet attach's network path") }
            return .veth
        }
        if request.addresses.isEmpty && request.dhcp == nil {
            throw SwnetError("\(parent.name) is a host interface: give IP/LEN or dhcp (swnet allocates addresses only on its networks)")
        }
        if parent.masterIndex != nil { throw SwnetError("\(parent.name) is a port of a bridge; attach to the bridge instead") }
        // The kernel's answer would be a bare EINVAL (macvlan) or EOPNOTSUPP (moving lo).
        if parent.isLoopback || parent.mac == nil {
            throw SwnetError("\(parent.name) is not an Ethernet interface: a macvlan or --direct needs one (or name a bridge or swnet network)")
        }
        if request.hostInterface != nil { throw SwnetError("-l names a veth's host side; \(parent.name) gets no veth") }
        switch request.hostInterfaceMode ?? .macvlan(.bridge) {
        case .direct:
            if request.vlan != nil { throw SwnetError("@VID cannot be combined with --direct") }
            return .direct
        case .macvlan:
            return .macvlan
        }
    }

    /// The interface a macvlan sits on: the parent, or its VLAN sub-interface PARENT.VID, made
    /// (and recorded, so detach removes it with the last user) when missing.
    private func lowerInterface(of parent: Link, vlan: UInt16?, record: inout LinkAttachment, rollback: Rollback,
                                in state: borrowing StateTransaction) throws -> Link {
        guard let vlan else { return parent }
        guard (1...4094).contains(vlan) else { throw SwnetError("invalid VLAN \(vlan): must be 1 to 4094") }
        let netlink = try hostNetlink()
        let name = "\(parent.name).\(vlan)"
        guard InterfaceNames.isValid(name) else { throw SwnetError("VLAN interface name \(name) is longer than 15 bytes") }
        if let existing = try netlink.link(named: name) {
            guard existing.kind == .vlan, existing.linkIndex == parent.index else {
                throw SwnetError("interface \(name) exists and is not VLAN \(vlan) of \(parent.name)")
            }
            return existing
        }
        var spec = LinkSpec(name: name, kind: .vlan(parentIndex: parent.index, id: vlan))
        spec.up = true
        do { try netlink.addLink(spec) } catch where error.errno == EOPNOTSUPP {
            throw SwnetError("VLAN \(vlan) on \(parent.name): this kernel has no 802.1Q VLAN support (module 8021q)")
        } catch {
            throw SwnetError.during("create VLAN interface \(name)", error)
        }
        rollback.onFailure { try? netlink.deleteLink(named: name) }
        record.hostInterface = name
        try state.save(record)
        try state.commitPending()
        guard let link = try netlink.link(named: name) else { throw SwnetError("VLAN interface \(name) vanished") }
        return link
    }

    /// The macvlan is created directly in the container's namespace, named, with its MAC and MTU.
    private func createMacvlan(on lower: Link, request: AttachRequest, name: String, target: ResolvedTarget,
                               container: NetlinkHandle, rollback: Rollback) throws {
        guard case .macvlan(let mode) = request.hostInterfaceMode ?? .macvlan(.bridge) else { return }
        var spec = LinkSpec(name: name, kind: .macvlan(parentIndex: lower.index, mode: mode))
        spec.mtu = request.mtu
        spec.mac = request.mac?.address
        spec.namespace = target.namespace
        do { try hostNetlink().addLink(spec) } catch {
            throw SwnetError.during("create macvlan \(name) on \(lower.name) for \(target.label)", error)
        }
        rollback.onFailure { try? container.deleteLink(named: name) }
    }

    /// `--direct`: the host interface moves in under the container's name (renamed in the same
    /// request, so its old name never clashes in there); detach moves it back under its own.
    private func moveIn(_ link: Link, as name: String, request: AttachRequest, target: ResolvedTarget,
                        container: NetlinkHandle, rollback: Rollback) throws {
        let host = try hostNamespace ?? NetworkNamespace.current()
        do {
            try hostNetlink().setLink(index: link.index, LinkChanges(name: name, mtu: request.mtu, mac: request.mac?.address,
                                                                     namespace: target.namespace))
        } catch {
            throw SwnetError.during("move \(link.name) into \(target.label)", error)
        }
        rollback.onFailure {
            if let inside = try? container.link(named: name) {
                try? container.setLink(index: inside.index, LinkChanges(name: link.name, up: false, namespace: host))
            }
        }
    }

    /// Undoes a record: stops its DHCP client, removes what swnet made (the veth, the macvlan,
    /// a VLAN sub-interface nobody else uses), moves a direct interface back, forgets it.
    /// `container` is nil when the namespace is gone or unknown.
    package func undo(_ record: LinkAttachment, container: NetlinkHandle?, in state: borrowing StateTransaction) throws {
        stopDHCPClient(of: record)
        let netlink = try hostNetlink()
        switch record.kind {
        case .veth:
            if let host = record.hostInterface { try deleteLinks(named: [host]) }
        case .macvlan:
            if let container, let inside = try container.link(named: record.containerInterface) {
                try container.deleteLink(index: inside.index)
            }
            if let vlan = record.hostInterface,
               try !state.linkAttachmentUses(hostInterface: vlan, except: record),
               try netlink.link(named: vlan) != nil {
                try netlink.deleteLink(named: vlan)
            }
        case .direct:
            if let container, let inside = try container.link(named: record.containerInterface) {
                let host = try hostNamespace ?? NetworkNamespace.current()
                let name = try netlink.link(named: record.parent) == nil ? record.parent : inside.name
                do {
                    try container.setLink(index: inside.index, LinkChanges(name: name, up: false, namespace: host))
                } catch {
                    throw SwnetError.during("move \(record.containerInterface) back out of \(record.target)", error)
                }
            }
        }
        try state.remove(record)
    }
}
