#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher
import Etcd
import IPAM
import JSON
import Netlink

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
/// keep-alive, a periodic check of the kernel, and termination signals, multiplexed with
/// poll(2). Every change ends in a full comparison of the kernel with the peer list, so a
/// missed or repeated event cannot leave the kernel wrong. When etcd is unreachable the
/// kernel is left as it is (the data path keeps working) and the agent reconnects with
/// backoff, then re-lists and compares everything.
public final class OverlayAgent {
    private let swnet: Swnet
    private let options: OverlayAgentOptions
    private let log: (LogLevel, String) -> Void
    private let ready: (String) -> Void
    private let client: EtcdClient
    private let keys: OverlayKeys

    private var configuration: OverlayConfiguration?
    private var underlay: Underlay?
    /// This host's registration, as it should be in etcd.
    private var me: OverlayHost?
    private var lease: Int64 = 0
    private var peers: [String: OverlayHost] = [:]
    private var revision: Int64 = 0

    private static let checkIntervalMilliseconds: Int64 = 10_000
    private static let firstBackoffMilliseconds: Int64 = 200
    private static let longestBackoffMilliseconds: Int64 = 5_000

    /// `log` gets what the agent does, each with its level; `ready` a summary each time the host
    /// has joined and programmed its peers (for systemd's READY=1).
    public init(swnet: Swnet, options: OverlayAgentOptions, log: @escaping (LogLevel, String) -> Void,
                ready: @escaping (String) -> Void = { _ in }) throws {
        guard options.ttl >= 3 else { throw SwnetError.invalid("invalid --ttl \(options.ttl): at least 3 seconds") }
        try Swnet.validateNetworkName(options.name)
        self.swnet = swnet
        self.options = options
        self.log = log
        self.ready = ready
        client = try EtcdClient(options.etcd)
        keys = OverlayKeys(name: options.name)
    }

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
        do {
            try untilReachable(signals: signals) { try self.join() }
            try follow(signals: signals)
        } catch Stop.signal(let number) where me == nil {
            log(.info, "stopped by signal \(number) before joining")
        } catch Stop.signal(let number) {
            log(.info, "stopped by signal \(number); this host stays registered for up to \(options.ttl) s, so a restarted agent keeps its subnet")
        } catch Stop.left {
            log(.info, "this host left overlay \(options.name)")
        }
    }

    // MARK: Joining

    /// Leases a subnet (this host's previous one when it can), sets up the bridge and VXLAN
    /// device, and programs the peers.
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
                                   hostID: hostID, hostname: hostname)
        lease = try client.grantLease(ttl: options.ttl).id
        do {
            let subnet = try leaseSubnet(configuration, template: template)
            var registered = template
            registered.subnet = subnet
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
        try relist()
        let me = me!
        var details = "underlay \(me.underlayIP) on \(underlay.interface.name)"
        if let mac = me.vtepMAC { details += ", VTEP \(configuration.tunnelDevice) \(mac)" }
        let summary = "joined overlay \(options.name) (\(configuration.summary)) with subnet \(me.subnet), \(details), \(peers.count) peer\(peers.count == 1 ? "" : "s")"
        log(.info, "ready: \(summary)")
        ready(summary)
    }

    /// This host's previous subnet (from its network, or a registration etcd still has for
    /// its host id) when still free or its own; otherwise the first free one.
    private func leaseSubnet(_ configuration: OverlayConfiguration, template: OverlayHost) throws -> IPNetwork {
        let previous = try swnet.store.write { state in try state.network(named: options.name) }.flatMap { $0.overlay == nil ? nil : $0 }
        let hosts = try swnet.overlayHosts(options.name, client: client).hosts
        var preferred: [IPNetwork] = []
        if let previous, configuration.isHostSubnet(previous.subnet) { preferred.append(previous.subnet) }
        if let registered = hosts.first(where: { $0.hostID == template.hostID }), !preferred.contains(registered.subnet) {
            preferred.append(registered.subnet)
        }
        for subnet in preferred where try claim(subnet, template: template) { return subnet }
        if let previous {
            let attached = try swnet.store.write { state in try state.attachmentCount(network: options.name) }
            if attached > 0 {
                throw SwnetError("this host's subnet \(previous.subnet) of overlay \(options.name) now belongs to another host and \(attached) container\(attached == 1 ? " is" : "s are") attached to it; detach them or run swnet overlay leave \(options.name) --force, then start the agent again")
            }
            log(.warning, "subnet \(previous.subnet) now belongs to another host; leasing a new one")
        }
        let taken = Set(hosts.map(\.subnet))
        for index in 0..<configuration.hostSubnetCount {
            guard let subnet = configuration.hostSubnet(index), !taken.contains(subnet) else { continue }
            if try claim(subnet, template: template) { return subnet }
        }
        throw SwnetError("overlay \(options.name) has no free /\(configuration.hostPrefix) left in \(configuration.subnet)")
    }

    /// Registers this host for `subnet` under the current lease if nobody holds it, or takes
    /// over its own earlier registration (an agent restarted within the TTL). True when the
    /// subnet is now this host's.
    private func claim(_ subnet: IPNetwork, template: OverlayHost) throws -> Bool {
        var host = template
        host.subnet = subnet
        let key = keys.host(subnet)
        let value = host.registration.serialized()
        let result = try client.txn(compare: [.absent(key: key)], success: [.put(key: key, value: value, lease: lease)],
                                    failure: [.get(key: key)])
        if result.succeeded { return true }
        guard let existing = result.gotKeyValues.first,
              let holder = try? OverlayHost(registration: parseJSON(existing.value, what: "registration"), lease: existing.lease),
              holder.hostID == host.hostID
        else { return false }
        let takeover = try client.txn(compare: [.modRevision(key: key, equals: existing.modRevision)],
                                      success: [.put(key: key, value: value, lease: lease)], failure: [])
        if takeover.succeeded && existing.lease != lease { try client.revokeLease(existing.lease) }
        return takeover.succeeded
    }

    /// Makes sure etcd holds this host's registration under a live lease: after the lease
    /// expired (an etcd outage longer than the TTL), the same subnet is registered again.
    private func ensureRegistered() throws {
        guard let me, let configuration else { return }
        if let kv = try client.get(keys.host(me.subnet)), kv.lease == lease,
           (try? OverlayHost(registration: parseJSON(kv.value, what: "registration"), lease: kv.lease)) == me {
            return
        }
        if try client.keepAlive(lease) == 0 {
            lease = try client.grantLease(ttl: options.ttl).id
            log(.warning, "lease had expired; registering subnet \(me.subnet) again")
        }
        guard try claim(me.subnet, template: me) else {
            let holder = try client.get(keys.host(me.subnet)).flatMap { try? OverlayHost(registration: parseJSON($0.value, what: "registration"), lease: $0.lease) }
            throw SwnetError("subnet \(me.subnet) of overlay \(configuration.name) was taken by the host at \(holder?.underlayIP.description ?? "unknown") while this host was unregistered; run swnet overlay leave \(configuration.name) and start the agent again")
        }
        self.me?.lease = lease
        try swnet.store.write { state in
            guard var network = try state.network(named: options.name), network.overlay != nil else { throw Stop.left }
            network.overlay?.lease = lease
            try state.save(network)
        }
    }

    // MARK: Following the other hosts

    private func follow(signals: Int32) throws {
        // Address changes wake the agent: its own underlay may have moved.
        let monitor = try NetlinkMonitor(namespace: swnet.hostNamespace)
        var watch = try? client.watchPrefix(keys.hosts, fromRevision: revision + 1)
        defer { watch?.close() }
        let keepAliveInterval = options.ttl * 1000 / 3
        var nextKeepAlive = monotonicMilliseconds() + keepAliveInterval
        var nextCheck = monotonicMilliseconds() + Self.checkIntervalMilliseconds
        while true {
            if watch == nil {
                try untilReachable(signals: signals) {
                    try self.relist()
                    watch = try self.client.watchPrefix(self.keys.hosts, fromRevision: self.revision + 1)
                }
                log(.info, "watching etcd again from revision \(revision + 1)")
            }
            var now = monotonicMilliseconds()
            if now >= nextKeepAlive {
                nextKeepAlive = now + keepAliveInterval
                do {
                    if try client.keepAlive(lease) == 0 { try ensureRegistered() }
                } catch let error as EtcdError {
                    // The watch's connection may be just as dead without knowing it (etcd only
                    // sends progress every 10 minutes): list and watch anew once etcd answers.
                    log(.warning, "lease keep-alive failed: \(error)")
                    watch?.close()
                    watch = nil
                    continue
                }
            }
            if monitor.drain() || now >= nextCheck, let moved = underlayMoved() {
                log(.warning, "this host's underlay moved to \(moved.address) on \(moved.interface.name); joining again")
                try untilReachable(signals: signals) { try self.join() }
                watch?.close()
                watch = nil
                continue
            }
            if now >= nextCheck {
                nextCheck = now + Self.checkIntervalMilliseconds
                try reconcile()
            }
            do {
                // Drain what arrived (TLS may hold decrypted messages the socket no longer shows).
                while let message = try watch!.next(timeoutMilliseconds: 0) {
                    if try !handle(message) {
                        watch!.close()
                        watch = nil
                        break
                    }
                }
            } catch let error as EtcdError {
                log(.warning, "watch failed: \(error)")
                watch?.close()
                watch = nil
            }
            guard let active = watch else { continue }
            now = monotonicMilliseconds()
            let timeout = max(0, min(nextKeepAlive, nextCheck) - now)
            try waitForInput([active.fileDescriptor, monitor.fileDescriptor], signals: signals, timeoutMilliseconds: timeout)
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

    /// Applies one watch message; false when the watch is over and a re-list is needed.
    private func handle(_ message: EtcdWatchMessage) throws -> Bool {
        switch message {
        case .created, .progress:
            return true
        case .events(let events, let revision):
            self.revision = revision
            var ownKeyChanged = false
            let ownKey = me.map { keys.host($0.subnet) }
            for event in events {
                let key = event.keyValue.key
                log(.debug, "etcd \(event.kind == .put ? "put" : "delete") \(key) at revision \(revision)")
                if key == ownKey {
                    ownKeyChanged = true
                    continue
                }
                switch event.kind {
                case .put:
                    if let host = try? OverlayHost(registration: parseJSON(event.keyValue.value, what: "registration"), lease: event.keyValue.lease),
                       keys.subnet(ofHostKey: key) == host.subnet {
                        if peers[key] != host { log(.info, "peer \(host.subnet): underlay \(host.underlayIP)\(host.vtepMAC.map { ", VTEP \($0)" } ?? "")") }
                        peers[key] = host
                    } else {
                        log(.warning, "ignoring damaged registration \(key)")
                        peers[key] = nil
                    }
                case .delete:
                    if let host = peers.removeValue(forKey: key) { log(.info, "peer \(host.subnet) left") }
                }
            }
            if ownKeyChanged {
                // Deleted by `overlay leave` (then the network is gone too) or by an expired lease.
                try swnet.store.write { state in if try state.network(named: options.name)?.overlay == nil { throw Stop.left } }
                try ensureRegistered()
            }
            try reconcile()
            return true
        case .compacted(let compactRevision):
            log(.warning, "etcd compacted its history past revision \(revision + 1) (to \(compactRevision)); listing every host again")
            return false
        case .canceled(let reason):
            log(.warning, "etcd canceled the watch (\(reason)); listing every host again")
            return false
        }
    }

    /// Reads every host again and compares everything with the kernel.
    private func relist() throws {
        let (hosts, revision) = try swnet.overlayHosts(options.name, client: client)
        self.revision = revision
        let ownSubnet = me?.subnet
        var listed: [String: OverlayHost] = [:]
        for host in hosts where host.subnet != ownSubnet { listed[keys.host(host.subnet)] = host }
        for (key, host) in listed where peers[key] != host { log(.info, "peer \(host.subnet): underlay \(host.underlayIP)\(host.vtepMAC.map { ", VTEP \($0)" } ?? "")") }
        for (key, host) in peers where listed[key] == nil { log(.info, "peer \(host.subnet) left") }
        peers = listed
        try ensureRegistered()
        try reconcile()
    }

    /// Brings the kernel in step with the peers, under the state lock, so that it never races
    /// `overlay leave`.
    private func reconcile() throws {
        guard let configuration, let me, let underlay else { return }
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
            let plane = OverlayDataPlane(mode: configuration.mode, clusterSubnet: configuration.subnet, interfaceIndex: interface.index)
            do {
                let (added, removed) = try plane.reconcile(netlink, peers: Array(peers.values))
                if configuration.mode == .vxlan {
                    try swnet.updateFastPathPeers(tunnel: interface, peers: peers.values.compactMap { peer in
                        peer.vtepMAC.map { (mac: $0, underlayIP: peer.underlayIP) }
                    })
                }
                if !removed.isEmpty { log(.info, "removed \(Self.summary(removed.descriptions))") }
                if !added.isEmpty { log(.info, "added \(Self.summary(added.descriptions))") }
                if added.isEmpty && removed.isEmpty { log(.debug, "kernel in step with \(peers.count) peer\(peers.count == 1 ? "" : "s")") }
            } catch {
                log(.error, "programming the kernel failed: \(error); retrying at the next check")
            }
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
                try waitForInput([], signals: signals, timeoutMilliseconds: backoff)
                backoff = min(backoff * 2, Self.longestBackoffMilliseconds)
            }
        }
    }

    /// Sleeps until one of `descriptors` is readable or the timeout passes; throws on a
    /// termination signal.
    private func waitForInput(_ descriptors: [Int32], signals: Int32, timeoutMilliseconds: Int64) throws {
        var fds = ([signals] + descriptors).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let result = poll(&fds, nfds_t(fds.count), Int32(clamping: timeoutMilliseconds))
        if result < 0 && errno != EINTR { throw SystemError("poll", errno: errno) }
        let number = swnet_read_signal(signals)
        if number > 0 { throw Stop.signal(number) }
    }

    private func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
