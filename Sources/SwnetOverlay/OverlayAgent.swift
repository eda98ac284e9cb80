#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher
import Etcd
import IPAM
import JSON
import Netlink
import SwnetCore

public struct OverlayAgentOptions: Sendable {
    public var name: String
    public var etcd: EtcdConfiguration
    public var underlayIP: IPAddress?
    public var underlayDevice: String?
    /// Seconds the registration outlives a dead agent.
    public var ttl: Int64
    public var transmitChecksumOffload: Bool

    public init(name: String, etcd: EtcdConfiguration, underlayIP: IPAddress? = nil, underlayDevice: String? = nil,
                ttl: Int64 = 60, transmitChecksumOffload: Bool = true) {
        self.name = name
        self.etcd = etcd
        self.underlayIP = underlayIP
        self.underlayDevice = underlayDevice
        self.ttl = ttl
        self.transmitChecksumOffload = transmitChecksumOffload
    }
}

/// `swnet overlay agent`: joins this host to an overlay and keeps the kernel in step with
/// the other hosts registered in etcd until it is stopped.
///
/// One thread, one loop: a watch on the hosts' keys (its own connection), the lease's
/// keep-alive, a periodic check of the kernel, address changes and termination signals,
/// multiplexed with poll(2). What each of them means is decided by `decide` (AgentCore), a
/// pure function of the agent's state and the event; this loop does the I/O it asks for. A
/// watched change programs only the peer that changed; joining, a re-list and the periodic
/// check compare the whole kernel with the peer list, so a missed event or a foreign change
/// cannot leave the kernel wrong for long. When etcd is unreachable the kernel is left as it
/// is (the data path keeps working) and the agent reconnects with backoff, then re-lists.
public final class OverlayAgent {
    private let swnet: Swnet
    private let options: OverlayAgentOptions
    private let log: (LogLevel, String) -> Void
    private let ready: (String) -> Void
    private let client: EtcdClient

    private var state: AgentState
    private var configuration: OverlayConfiguration?
    private var underlay: Underlay?
    /// The lease this host's registration is bound to.
    private var lease: Int64 = 0
    /// Nil when none is open: the loop lists every host and watches anew.
    private var watch: EtcdWatch?
    /// Set by `.rejoin`: the loop joins again before anything else.
    private var mustJoin = false

    private static let firstBackoffMilliseconds: Int64 = 200
    private static let longestBackoffMilliseconds: Int64 = 5_000

    /// `log` gets what the agent does, each with its level; `ready` a summary each time the host
    /// has joined and programmed its peers (for systemd's READY=1).
    public init(swnet: Swnet, options: OverlayAgentOptions, log: @escaping (LogLevel, String) -> Void,
                ready: @escaping (String) -> Void = { _ in }) throws {
        guard options.ttl >= 3 else { throw SwnetError.invalid("invalid --ttl \(options.ttl): at least 3 seconds") }
        try NetworkRules.checkName(options.name)
        self.swnet = swnet
        self.options = options
        self.log = log
        self.ready = ready
        client = try EtcdClient(options.etcd)
        state = AgentState(overlay: options.name, ttl: options.ttl)
    }

    private var keys: OverlayKeys { state.keys }

    private enum Stop: Error {
        case signal(Int32)
        /// `overlay leave` removed this host's network.
        case left
    }

    /// Runs until a termination signal (the registration stays until its lease expires, so a
    /// restart within the TTL keeps everything) or until `overlay leave` (exits cleanly).
    public func run() throws {
        try swnet.requireNetworkPrivileges(for: "overlay agent")
        // Two agents of one overlay in one network namespace would fight over its devices and
        // take the registration from each other.
        guard let agentLock = try InstanceLock(name: "swnet/overlay-agent/\(options.name)") else {
            throw SwnetError("an agent for overlay \(options.name) is already running on this host")
        }
        defer { withExtendedLifetime(agentLock) {} }
        let signals = swnet_termination_signalfd()
        guard signals >= 0 else { throw SystemError("block termination signals", errno: -signals) }
        defer { close(signals) }
        defer { watch?.close() }
        do {
            // Address changes wake the agent: its own underlay may have moved.
            let monitor = try NetlinkMonitor(namespace: swnet.hostNamespace)
            try untilReachable(signals: signals) { try self.join() }
            try follow(signals: signals, monitor: monitor)
        } catch Stop.signal(let number) where state.me == nil {
            log(.info, "stopped by signal \(number) before joining")
        } catch Stop.signal(let number) {
            log(.info, "stopped by signal \(number); this host stays registered for up to \(options.ttl) s, so a restarted agent keeps its subnet")
        } catch Stop.left {
            log(.info, "this host left overlay \(options.name)")
        }
    }

    // MARK: The loop

    private func follow(signals: Int32, monitor: NetlinkMonitor) throws {
        while true {
            if mustJoin {
                mustJoin = false
                watch?.close()
                watch = nil
                try untilReachable(signals: signals) { try self.join() }
                continue
            }
            if watch == nil {
                try untilReachable(signals: signals) {
                    let (hosts, revision) = try self.swnet.overlayHosts(self.options.name, client: self.client)
                    try self.handle(.listed(hosts: hosts, revision: revision))
                }
                continue
            }
            try step(.tick(now: monotonicMilliseconds()))
            if monitor.drain() { try step(.addressesChanged) }
            // Drain what arrived (TLS may hold decrypted messages the socket no longer shows).
            while !mustJoin, let active = watch {
                let message: EtcdWatchMessage?
                do { message = try active.next(timeoutMilliseconds: 0) } catch {
                    try step(.etcdFailed("watch failed: \(error)"))
                    break
                }
                guard let message else { break }
                try step(.watch(message))
            }
            guard !mustJoin, let active = watch else { continue }
            let timeout = max(0, state.nextDeadline - monotonicMilliseconds())
            if let number = try waitForInput([active.fileDescriptor, monitor.fileDescriptor], signals: signals,
                                             timeoutMilliseconds: timeout) {
                try handle(.signal(number))
            }
        }
    }

    /// Handles an event while following; an unreachable etcd ends the watch (its connection may
    /// be just as dead without knowing it: etcd sends progress only every 10 minutes).
    private func step(_ event: AgentEvent) throws {
        do { try handle(event) } catch let error as EtcdError {
            try handle(.etcdFailed("etcd failed: \(error)"))
        }
    }

    private func handle(_ event: AgentEvent) throws {
        let actions: [AgentAction]
        (state, actions) = decide(state, event)
        // The peers' changes of one watch message go to the kernel together, before anything
        // else; a peer changed twice counts once, from its first state to its last.
        var changes: [OverlayDataPlane.PeerChange] = []
        var changed: [IPNetwork: Int] = [:]
        func record(_ subnet: IPNetwork, before: OverlayHost?, after: OverlayHost?) {
            if let index = changed[subnet] {
                changes[index].after = after
            } else {
                changed[subnet] = changes.count
                changes.append(OverlayDataPlane.PeerChange(before: before, after: after))
            }
        }
        for action in actions {
            switch action {
            case .program(let host, let previous):
                record(host.subnet, before: previous, after: host)
            case .remove(let host):
                record(host.subnet, before: host, after: nil)
            default:
                try update(changes)
                changes = []
                changed = [:]
                try perform(action)
            }
        }
        try update(changes)
    }

    private func perform(_ action: AgentAction) throws {
        switch action {
        case .program, .remove:
            break
        case .reconcile:
            try reconcile()
        case .announceReady:
            announceReady()
        case .renewLease:
            let remaining: Int64
            do { remaining = try client.keepAlive(lease) } catch {
                try handle(.etcdFailed("lease keep-alive failed: \(error)"))
                return
            }
            try handle(.leaseRenewed(remaining: remaining))
        case .ensureRegistered:
            try ensureRegistered()
        case .relist:
            watch?.close()
            watch = nil
        case .watch(let revision):
            watch?.close()
            watch = try client.watchPrefix(keys.hosts, fromRevision: revision)
        case .checkUnderlay:
            if let moved = underlayMoved() { try handle(.underlayMoved("\(moved.address) on \(moved.interface.name)")) }
        case .rejoin:
            mustJoin = true
        case .exit(.signal(let number)):
            throw Stop.signal(number)
        case .exit(.subnetTaken(let message)):
            throw SwnetError(message)
        case .log(let level, let message):
            log(level, message)
        }
    }

    // MARK: Joining

    /// Leases a subnet (this host's previous one when it can), sets up the bridge and VXLAN
    /// device, and programs the peers read while leasing (the watch brings what changed since).
    private func join() throws {
        let configuration = try swnet.overlayConfiguration(options.name, client: client)
        let underlay = try swnet.resolveUnderlay(address: options.underlayIP, device: options.underlayDevice,
                                                 etcdEndpoints: options.etcd.endpoints)
        let hostID = try swnet.hostID()
        var hostnameBuffer = [UInt8](repeating: 0, count: 256)
        gethostname(&hostnameBuffer, hostnameBuffer.count - 1)
        let hostname = String(decoding: hostnameBuffer.prefix { $0 != 0 }, as: UTF8.self)
        self.configuration = configuration
        self.underlay = underlay
        let template = OverlayHost(subnet: configuration.subnet, underlayIP: underlay.address,
                                   vtepMAC: configuration.mode == .vxlan ? try swnet.vtepMAC(overlay: options.name) : nil,
                                   underlayMAC: configuration.mode == .hostGateway && configuration.subnet6 != nil ? underlay.interface.mac : nil,
                                   hostID: hostID, hostname: hostname)
        lease = try client.grantLease(ttl: options.ttl).id
        let me: OverlayHost
        let listed: (hosts: [OverlayHost], revision: Int64)
        do {
            let subnet: IPNetwork
            (subnet, listed) = try leaseSubnet(configuration, template: template)
            var registered = template
            registered.subnet = subnet
            registered.subnet6 = configuration.hostSubnet6(pairedWith: subnet)
            registered.lease = lease
            me = registered
            try swnet.store.write { state in
                _ = try swnet.setUpOverlayNetwork(configuration, subnet: subnet, underlay: underlay, vtepMAC: template.vtepMAC,
                                                  lease: lease, transmitChecksumOffload: options.transmitChecksumOffload, in: state)
            }
        } catch {
            // Registered but not set up: nobody may route to this host.
            try? client.revokeLease(lease)
            throw error
        }
        do {
            try handle(.joined(me: me, hosts: listed.hosts, revision: listed.revision, now: monotonicMilliseconds()))
        } catch let error as EtcdError {
            // Joined all the same: the loop lists the hosts again, with backoff, and watches.
            log(.warning, "watch failed: \(error)")
            watch = nil
        }
    }

    private func announceReady() {
        guard let configuration, let underlay, let me = state.me else { return }
        var details = "underlay \(me.underlayIP) on \(underlay.interface.name)"
        if let mac = me.vtepMAC { details += ", VTEP \(configuration.tunnelDevice) \(mac)" }
        let count = state.peers.count
        let summary = "joined overlay \(options.name) (\(configuration.summary)) with subnet \(me.subnet)\(me.subnet6.map { " and \($0)" } ?? ""), \(details), \(count) peer\(count == 1 ? "" : "s")"
        log(.info, "ready: \(summary)")
        ready(summary)
    }

    /// This host's previous subnet (from its network, or a registration etcd still has for
    /// its host id) when still free or its own; otherwise the first free one. Also returns the
    /// hosts it read, and the revision they were read at.
    private func leaseSubnet(_ configuration: OverlayConfiguration, template: OverlayHost) throws
        -> (IPNetwork, listed: (hosts: [OverlayHost], revision: Int64)) {
        let previous = try swnet.store.write { state in try state.network(named: options.name) }.flatMap { $0.overlay == nil ? nil : $0 }
        let listed = try swnet.overlayHosts(options.name, client: client)
        var preferred: [IPNetwork] = []
        if let previous, configuration.isHostSubnet(previous.subnet) { preferred.append(previous.subnet) }
        if let registered = listed.hosts.first(where: { $0.hostID == template.hostID }), !preferred.contains(registered.subnet) {
            preferred.append(registered.subnet)
        }
        for subnet in preferred where try claim(subnet, template: template) { return (subnet, listed) }
        if let previous {
            let attached = try swnet.store.write { state in try state.attachmentCount(network: options.name) }
            if attached > 0 {
                throw SwnetError("this host's subnet \(previous.subnet) of overlay \(options.name) now belongs to another host and \(attached) container\(attached == 1 ? " is" : "s are") attached to it; detach them or run swnet overlay leave \(options.name) --force, then start the agent again")
            }
            log(.warning, "subnet \(previous.subnet) now belongs to another host; leasing a new one")
        }
        let taken = Set(listed.hosts.map(\.subnet))
        for index in 0..<configuration.hostSubnetCount {
            guard let subnet = configuration.hostSubnet(index), !taken.contains(subnet) else { continue }
            if try claim(subnet, template: template) { return (subnet, listed) }
        }
        throw SwnetError("overlay \(options.name) has no free /\(configuration.hostPrefix) left in \(configuration.subnet)")
    }

    /// Registers this host for `subnet` under the current lease if nobody holds it, or takes
    /// over its own earlier registration (an agent restarted within the TTL). True when the
    /// subnet is now this host's.
    private func claim(_ subnet: IPNetwork, template: OverlayHost) throws -> Bool {
        var host = template
        host.subnet = subnet
        host.subnet6 = configuration?.hostSubnet6(pairedWith: subnet)
        let key = keys.host(subnet)
        let value = host.registration.serialized()
        let result = try client.txn(compare: [.absent(key: key)], success: [.put(key: key, value: value, lease: lease)],
                                    failure: [.get(key: key)])
        if result.succeeded { return true }
        guard let existing = result.gotKeyValues.first, let holder = registration(existing, keys: keys),
              holder.hostID == host.hostID
        else { return false }
        let takeover = try client.txn(compare: [.modRevision(key: key, equals: existing.modRevision)],
                                      success: [.put(key: key, value: value, lease: lease)], failure: [])
        if takeover.succeeded && existing.lease != lease { try client.revokeLease(existing.lease) }
        return takeover.succeeded
    }

    /// Makes sure etcd holds this host's registration under a live lease: after the lease
    /// expired (an etcd outage longer than the TTL), the same subnet is registered again.
    /// Stops the agent when `overlay leave` removed the network.
    private func ensureRegistered() throws {
        guard let me = state.me, let configuration else { return }
        try swnet.store.read { state in if try state.network(named: options.name)?.overlay == nil { throw Stop.left } }
        if let kv = try client.get(keys.host(me.subnet)), kv.lease == lease, registration(kv, keys: keys) == me {
            return
        }
        if try client.keepAlive(lease) == 0 {
            lease = try client.grantLease(ttl: options.ttl).id
            log(.warning, "lease had expired; registering subnet \(me.subnet) again")
        }
        guard try claim(me.subnet, template: me) else {
            let holder = try client.get(keys.host(me.subnet)).flatMap { registration($0, keys: keys) }
            throw SwnetError("subnet \(me.subnet) of overlay \(configuration.name) was taken by the host at \(holder?.underlayIP.description ?? "unknown") while this host was unregistered; run swnet overlay leave \(configuration.name) and start the agent again")
        }
        try handle(.registered(lease: lease))
        try swnet.store.write { state in
            guard var network = try state.network(named: options.name), network.overlay != nil else { throw Stop.left }
            network.overlay?.lease = lease
            try state.save(network)
        }
    }

    /// This host's underlay when it is no longer the one it joined with (a renewed DHCP lease,
    /// another interface): peers must learn the new address.
    private func underlayMoved() -> Underlay? {
        guard let underlay,
              let current = try? swnet.resolveUnderlay(address: options.underlayIP, device: options.underlayDevice,
                                                       etcdEndpoints: options.etcd.endpoints),
              current.address != underlay.address || current.interface.index != underlay.interface.index
        else { return nil }
        return current
    }

    // MARK: The kernel

    /// Writes the entries of the peers that changed and removes those of the peers that left:
    /// one batch, whatever the number of other peers. When that fails, the whole kernel is
    /// compared with the peers.
    private func update(_ changes: [OverlayDataPlane.PeerChange]) throws {
        guard !changes.isEmpty else { return }
        try withDataPlane { plane, netlink in
            do {
                logChanges(try plane.update(netlink, changes: changes))
                return
            } catch {
                log(.error, "programming the kernel failed: \(error); comparing it with every peer")
            }
            try reconcile(plane, netlink)
        }
    }

    /// Brings the kernel in step with every peer.
    private func reconcile() throws {
        try withDataPlane { plane, netlink in try reconcile(plane, netlink) }
    }

    private func reconcile(_ plane: OverlayDataPlane, _ netlink: NetlinkHandle) throws {
        do {
            let changes = try plane.reconcile(netlink, peers: Array(state.peers.values))
            logChanges(changes)
            if changes.added.isEmpty && changes.removed.isEmpty { log(.debug, "kernel in step with \(state.peers.count) peer\(state.peers.count == 1 ? "" : "s")") }
        } catch {
            log(.error, "programming the kernel failed: \(error); retrying at the next check")
        }
    }

    /// Runs `body` on this host's data plane under the state lock, so that it never races
    /// `overlay leave`.
    private func withDataPlane(_ body: (OverlayDataPlane, NetlinkHandle) throws -> Void) throws {
        guard let configuration, let me = state.me, let underlay else { return }
        try swnet.store.write { state in
            guard let network = try state.network(named: options.name), let membership = network.overlay,
                  network.subnet == me.subnet
            else { throw Stop.left }
            let netlink = try swnet.hostNetlink()
            let interface = configuration.mode == .vxlan ? try netlink.link(named: membership.tunnel) : underlay.interface
            guard let interface else {
                log(.error, "device \(membership.tunnel) is missing; restart the agent to recreate it")
                return
            }
            try body(OverlayDataPlane(mode: configuration.mode, clusterSubnets: configuration.subnets, interfaceIndex: interface.index),
                     netlink)
            // The fast path encapsulates by itself: its peer map follows the FDB just written.
            if configuration.mode == .vxlan {
                do {
                    try swnet.updateFastPathPeers(tunnel: interface, peers: self.state.peers.values.compactMap { peer in
                        peer.vtepMAC.map { (mac: $0, underlayIP: peer.underlayIP) }
                    })
                } catch {
                    log(.error, "\(error); the fast path sends through the VXLAN device until the next check")
                }
            }
        }
    }

    private func logChanges(_ changes: OverlayDataPlane.Changes) {
        if !changes.removed.isEmpty { log(.info, "removed \(Self.summary(changes.removed.descriptions))") }
        if !changes.added.isEmpty { log(.info, "added \(Self.summary(changes.added.descriptions))") }
        if !changes.blocked.isEmpty {
            log(.error, "no route to \(Self.summary(changes.blocked.map(\.description))): another program's nexthop holds the id swnet names it by (ip nexthop show); remove that nexthop or give it another id")
        }
    }

    /// The first entries of a change, and how many more: thousands of peers make one line
    /// of a few hundred kilobytes otherwise.
    static func summary(_ descriptions: [String], limit: Int = 20) -> String {
        let shown = descriptions.prefix(limit).joined(separator: ", ")
        return descriptions.count > limit ? "\(shown) and \(descriptions.count - limit) more" : shown
    }

    // MARK: Waiting

    /// Runs `body` until it gets through without an etcd error, waiting with exponential
    /// backoff between attempts; a termination signal ends the wait.
    private func untilReachable(signals: Int32, _ body: () throws -> Void) throws {
        var backoff = Self.firstBackoffMilliseconds
        while true {
            do {
                try body()
                return
            } catch let error as EtcdError {
                log(.warning, "\(error); retrying in \(backoff) ms")
                if let number = try waitForInput([], signals: signals, timeoutMilliseconds: backoff) { try handle(.signal(number)) }
                backoff = min(backoff * 2, Self.longestBackoffMilliseconds)
            }
        }
    }

    /// Sleeps until one of `descriptors` is readable or the timeout passes; returns the number
    /// of a termination signal that arrived.
    private func waitForInput(_ descriptors: [Int32], signals: Int32, timeoutMilliseconds: Int64) throws -> Int32? {
        var fds = ([signals] + descriptors).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let result = poll(&fds, nfds_t(fds.count), Int32(clamping: timeoutMilliseconds))
        if result < 0 && errno != EINTR { throw SystemError("poll", errno: errno) }
        let number = swnet_read_signal(signals)
        return number > 0 ? number : nil
    }

    private func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
