import Etcd
import JSON
import SwnetCore

/// What the agent knows: this host's registration, the other hosts, where the watch stands,
/// and when the lease and the kernel are due for their next look.
struct AgentState: Equatable {
    let keys: OverlayKeys
    /// This host's registration as it should be in etcd; nil until joined.
    var me: OverlayHost?
    /// The other hosts, by their key.
    var peers: [String: OverlayHost] = [:]
    /// The etcd revision everything above is read at: a new watch starts after it.
    var revision: Int64 = 0
    /// Monotonic milliseconds of the next lease keep-alive and of the next full look at the kernel.
    var nextKeepAlive: Int64 = .max
    var nextCheck: Int64 = .max
    let keepAliveInterval: Int64
    let checkInterval: Int64

    /// A keep-alive a third of the TTL apart survives one lost answer; the kernel is compared
    /// with the peers every 10 s in case something else changed it.
    init(overlay: String, ttl: Int64, checkInterval: Int64 = 10_000) {
        keys = OverlayKeys(name: overlay)
        keepAliveInterval = ttl * 1000 / 3
        self.checkInterval = checkInterval
    }

    /// When the loop must wake without input.
    var nextDeadline: Int64 { min(nextKeepAlive, nextCheck) }
}

/// What happens to the agent: what etcd, the kernel, the clock and the operator tell it.
enum AgentEvent: Equatable {
    /// This host registered `me` and read every host at `revision` (before or at the registration).
    case joined(me: OverlayHost, hosts: [OverlayHost], revision: Int64, now: Int64)
    case watch(EtcdWatchMessage)
    /// Every host again, after the watch ended or etcd was unreachable.
    case listed(hosts: [OverlayHost], revision: Int64)
    /// The watch or a keep-alive failed: the connection may be dead without knowing it.
    case etcdFailed(String)
    case tick(now: Int64)
    /// A keep-alive's answer: seconds the lease has left, 0 when it expired.
    case leaseRenewed(remaining: Int64)
    /// The lease expired and this host is registered again under a new one.
    case registered(lease: Int64)
    /// The host's addresses changed: its underlay may have moved.
    case addressesChanged
    /// The underlay is no longer the one joined with.
    case underlayMoved(String)
    case signal(Int32)
}

/// What the agent decides to do; the loop (OverlayAgent) does it.
enum AgentAction: Equatable {
    /// Writes a peer's entries (only those that differ from its previous registration's).
    case program(OverlayHost, replacing: OverlayHost?)
    case remove(OverlayHost)
    /// Compares the kernel with every peer and fixes what differs.
    case reconcile
    /// Says the host joined and programmed its peers (systemd's READY=1).
    case announceReady
    case renewLease
    /// Makes sure etcd holds this host's registration under a live lease (registers it again
    /// when the lease expired or the key was deleted); ends the agent when the host left.
    case ensureRegistered
    /// Lists every host again (with backoff until etcd answers), then watches anew.
    case relist
    case watch(fromRevision: Int64)
    case checkUnderlay
    /// Joins again: the underlay moved, peers must learn the new address.
    case rejoin
    case exit(AgentExit)
    case log(LogLevel, String)
}

enum AgentExit: Equatable {
    case signal(Int32)
    /// Another host registered this host's subnet.
    case subnetTaken(String)
}

/// The agent's decisions, without I/O: a new state and the actions for one event. Tests feed
/// it canned watch messages and a fake clock.
func decide(_ state: AgentState, _ event: AgentEvent) -> (AgentState, [AgentAction]) {
    var state = state
    var actions: [AgentAction] = []
    switch event {
    case .joined(let me, let hosts, let revision, let now):
        state.me = me
        state.revision = revision
        state.peers = listedPeers(hosts, except: me, keys: state.keys)
        state.nextKeepAlive = now + state.keepAliveInterval
        state.nextCheck = now + state.checkInterval
        actions = [.reconcile, .announceReady, .watch(fromRevision: revision + 1)]

    case .watch(.created), .watch(.progress):
        break
    case .watch(.events(let events, let revision)):
        state.revision = revision
        for event in events { actions += apply(event, to: &state) }
    case .watch(.compacted(let compactRevision)):
        actions = [.log(.warning, "etcd compacted its history past revision \(state.revision + 1) (to \(compactRevision)); listing every host again"),
                   .relist]
    case .watch(.canceled(let reason)):
        actions = [.log(.warning, "etcd canceled the watch (\(reason)); listing every host again"), .relist]

    case .listed(let hosts, let revision):
        state.revision = revision
        let listed = listedPeers(hosts, except: state.me, keys: state.keys)
        for (key, host) in listed.sorted(by: { $0.key < $1.key }) where state.peers[key] != host { actions.append(.log(.info, describe(host))) }
        for (key, host) in state.peers.sorted(by: { $0.key < $1.key }) where listed[key] == nil { actions.append(.log(.info, "peer \(host.subnet) left")) }
        state.peers = listed
        // Events may have been missed, and the kernel changed meanwhile: compare everything.
        actions += [.ensureRegistered, .reconcile, .watch(fromRevision: revision + 1), .log(.info, "watching etcd again from revision \(revision + 1)")]

    case .etcdFailed(let reason):
        actions = [.log(.warning, reason), .relist]

    case .tick(let now):
        if now >= state.nextKeepAlive {
            state.nextKeepAlive = now + state.keepAliveInterval
            actions.append(.renewLease)
        }
        if now >= state.nextCheck {
            state.nextCheck = now + state.checkInterval
            actions += [.checkUnderlay, .reconcile]
        }
    case .leaseRenewed(let remaining):
        if remaining == 0 { actions = [.log(.warning, "the lease expired"), .ensureRegistered] }
    case .registered(let lease):
        state.me?.lease = lease

    case .addressesChanged:
        actions = [.checkUnderlay]
    case .underlayMoved(let underlay):
        actions = [.log(.warning, "this host's underlay moved to \(underlay); joining again"), .rejoin]
    case .signal(let number):
        actions = [.exit(.signal(number))]
    }
    return (state, actions)
}

/// One watched change: a peer to program or remove, or this host's own key.
private func apply(_ event: EtcdEvent, to state: inout AgentState) -> [AgentAction] {
    let key = event.keyValue.key
    let previous = state.peers[key]
    if let me = state.me, key == state.keys.host(me.subnet) {
        guard event.kind == .put else {
            // `overlay leave` (then the network is gone) or an expired lease.
            return [.log(.warning, "this host's registration \(key) was deleted"), .ensureRegistered]
        }
        guard let holder = registration(event.keyValue, keys: state.keys) else {
            return [.log(.warning, "this host's registration \(key) was overwritten with a damaged one"), .ensureRegistered]
        }
        if holder.hostID != me.hostID {
            return [.exit(.subnetTaken("subnet \(me.subnet) of overlay \(state.keys.name) was taken by the host at \(holder.underlayIP); run swnet overlay leave \(state.keys.name) and start the agent again"))]
        }
        return holder == me ? [] : [.ensureRegistered]
    }
    switch event.kind {
    case .put:
        guard let host = registration(event.keyValue, keys: state.keys) else {
            state.peers[key] = nil
            return [.log(.warning, "ignoring damaged registration \(key)")] + (previous.map { [.remove($0)] } ?? [])
        }
        guard host != previous else { return [] }
        state.peers[key] = host
        return [.log(.info, describe(host)), .program(host, replacing: previous)]
    case .delete:
        guard let previous else { return [] }
        state.peers[key] = nil
        return [.log(.info, "peer \(previous.subnet) left"), .remove(previous)]
    }
}

/// A host's registration when it is whole and under the key of its subnet.
func registration(_ keyValue: EtcdKeyValue, keys: OverlayKeys) -> OverlayHost? {
    guard let json = try? JSON(parsing: keyValue.value),
          let host = try? OverlayHost(registration: json, lease: keyValue.lease),
          keys.subnet(ofHostKey: keyValue.key) == host.subnet
    else { return nil }
    return host
}

private func listedPeers(_ hosts: [OverlayHost], except me: OverlayHost?, keys: OverlayKeys) -> [String: OverlayHost] {
    var peers: [String: OverlayHost] = [:]
    for host in hosts where host.subnet != me?.subnet { peers[keys.host(host.subnet)] = host }
    return peers
}

private func describe(_ host: OverlayHost) -> String {
    "peer \(host.subnet): underlay \(host.underlayIP)\(host.vtepMAC.map { ", VTEP \($0)" } ?? "")"
}
