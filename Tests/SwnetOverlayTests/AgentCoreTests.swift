import Etcd
import IPAM
import Netlink
import SwnetCore
import Testing
@testable import SwnetOverlay

/// The agent's decisions fed with canned watch messages and a fake clock: no root, no etcd.
@Suite("Overlay agent decisions")
struct AgentCoreTests {
    let keys = OverlayKeys(name: "ov")
    let me = host(1, lease: 7)

    static func host(_ index: Int, underlay: String? = nil, mac: String? = nil, id: String? = nil, lease: Int64 = 9) -> OverlayHost {
        var host = OverlayHost(subnet: IPNetwork("10.40.\(index).0/24")!, underlayIP: IPAddress(underlay ?? "192.0.2.\(index)")!,
                               vtepMAC: MACAddress(mac ?? "02:00:00:00:00:0\(index)"), hostID: id ?? "host\(index)",
                               hostname: "node\(index)")
        host.lease = lease
        return host
    }

    func put(_ host: OverlayHost, revision: Int64 = 20) -> EtcdEvent {
        EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: keys.host(host.subnet), value: host.registration.serialized(),
                                                     createRevision: revision, modRevision: revision, version: 1, lease: host.lease))
    }

    func delete(_ host: OverlayHost, revision: Int64 = 20) -> EtcdEvent {
        EtcdEvent(kind: .delete, keyValue: EtcdKeyValue(key: keys.host(host.subnet), value: "", createRevision: 0,
                                                        modRevision: revision, version: 0, lease: 0))
    }

    /// Joined at revision 10, at time 1,000 ms, with hosts 2 and 3 registered.
    func joined() -> AgentState {
        let (state, actions) = decide(AgentState(overlay: "ov", ttl: 60),
                                      .joined(me: me, hosts: [me, Self.host(2), Self.host(3)], revision: 10, now: 1_000))
        #expect(actions == [.reconcile, .announceReady, .watch(fromRevision: 11)])
        #expect(state.peers.count == 2 && state.peers[keys.host(me.subnet)] == nil)
        return state
    }

    /// The actions without their log lines.
    func work(_ actions: [AgentAction]) -> [AgentAction] {
        actions.filter { if case .log = $0 { false } else { true } }
    }

    @Test func aWatchedPeerIsProgrammedAloneNeverTheWholeList() {
        var state = joined()
        let four = Self.host(4)
        var actions: [AgentAction]
        (state, actions) = decide(state, .watch(.events([put(four, revision: 11)], revision: 11)))
        #expect(work(actions) == [.program(four, replacing: nil)])
        #expect(state.revision == 11 && state.peers[keys.host(four.subnet)] == four)

        // The same registration again (a re-registration, a replayed event) changes nothing.
        (state, actions) = decide(state, .watch(.events([put(four, revision: 12)], revision: 12)))
        #expect(actions.isEmpty)
    }

    @Test func aChangedPeerReplacesItsOldEntriesAndALeavingOneIsRemoved() {
        var state = joined()
        let moved = Self.host(2, underlay: "192.0.2.22", mac: "02:00:00:00:00:22")
        var actions: [AgentAction]
        (state, actions) = decide(state, .watch(.events([put(moved), delete(Self.host(3))], revision: 20)))
        #expect(work(actions) == [.program(moved, replacing: Self.host(2)), .remove(Self.host(3))])
        #expect(Set(state.peers.values.map(\.subnet)) == [moved.subnet])

        // A delete of a key the agent never had is nothing to do.
        (state, actions) = decide(state, .watch(.events([delete(Self.host(9))], revision: 21)))
        #expect(actions.isEmpty)
    }

    @Test func aPeerGainingItsIPv6ShareIsProgrammedAgainAndAnOldRegistrationStillReads() {
        var state = joined()
        var dual = Self.host(2)
        dual.subnet6 = IPNetwork("fd40:0:0:2::/64")
        var actions: [AgentAction]
        (state, actions) = decide(state, .watch(.events([put(dual)], revision: 20)))
        #expect(work(actions) == [.program(dual, replacing: Self.host(2))])
        // Written before dual stack: no subnet6 key, read as IPv4 only, and the peer is dropped back to it.
        let old = #"{"subnet":"10.40.2.0/24","underlayIP":"192.0.2.2","vtepMAC":"02:00:00:00:00:02","hostID":"host2","hostname":"node2"}"#
        var event = put(Self.host(2), revision: 21)
        event.keyValue.value = old
        (state, actions) = decide(state, .watch(.events([event], revision: 21)))
        #expect(work(actions) == [.program(Self.host(2), replacing: dual)])
        #expect(state.peers[keys.host(dual.subnet)]?.subnet6 == nil)
    }

    @Test func aDamagedRegistrationRemovesThePeer() {
        let state = joined()
        var damaged = put(Self.host(2))
        damaged.keyValue.value = "{\"subnet\": 5}"
        // A registration under another subnet's key is as bad.
        let foreign = EtcdEvent(kind: .put, keyValue: EtcdKeyValue(key: keys.host(IPNetwork("10.40.3.0/24")!),
                                                                   value: Self.host(5).registration.serialized(),
                                                                   createRevision: 20, modRevision: 20, version: 1, lease: 9))
        let (next, actions) = decide(state, .watch(.events([damaged, foreign], revision: 20)))
        #expect(work(actions) == [.remove(Self.host(2)), .remove(Self.host(3))])
        #expect(next.peers.isEmpty)
    }

    @Test func compactionOrCancellationEndsTheWatchAndARelistComparesEverything() {
        var state = joined()
        var actions: [AgentAction]
        (state, actions) = decide(state, .watch(.compacted(compactRevision: 50)))
        #expect(work(actions) == [.relist])
        (_, actions) = decide(state, .watch(.canceled(reason: "etcdserver: mvcc: required revision has been compacted")))
        #expect(work(actions) == [.relist])

        // Host 3 left and host 5 came while the agent was not watching.
        (state, actions) = decide(state, .listed(hosts: [me, Self.host(2), Self.host(5)], revision: 60))
        #expect(work(actions) == [.ensureRegistered, .reconcile, .watch(fromRevision: 61)])
        #expect(Set(state.peers.values.map(\.subnet)) == [Self.host(2).subnet, Self.host(5).subnet])
        #expect(state.revision == 60)
    }

    @Test func etcdFailingMeansListingAgain() {
        let (_, actions) = decide(joined(), .etcdFailed("watch failed: connection reset"))
        #expect(actions == [.log(.warning, "watch failed: connection reset"), .relist])
    }

    @Test func theClockDrivesKeepAlivesAndKernelChecks() {
        var state = joined()
        var actions: [AgentAction]
        // TTL 60 s: a keep-alive every 20 s; the kernel is compared every 10 s.
        #expect(state.nextDeadline == 11_000)
        (state, actions) = decide(state, .tick(now: 5_000))
        #expect(actions.isEmpty)
        (state, actions) = decide(state, .tick(now: 11_000))
        #expect(actions == [.checkUnderlay, .reconcile])
        (state, actions) = decide(state, .tick(now: 21_000))
        #expect(actions == [.renewLease, .checkUnderlay, .reconcile])
        #expect(state.nextDeadline == 31_000)
        (state, actions) = decide(state, .leaseRenewed(remaining: 59))
        #expect(actions.isEmpty)
    }

    @Test func aLostLeaseOrOwnKeyMeansRegisteringAgain() {
        var state = joined()
        var actions: [AgentAction]
        (state, actions) = decide(state, .leaseRenewed(remaining: 0))
        #expect(work(actions) == [.ensureRegistered])
        (state, actions) = decide(state, .watch(.events([delete(me)], revision: 30)))
        #expect(work(actions) == [.ensureRegistered])
        (state, actions) = decide(state, .registered(lease: 42))
        #expect(actions.isEmpty && state.me?.lease == 42)
        // The new registration's own event: nothing more to do.
        var renewed = me
        renewed.lease = 42
        (state, actions) = decide(state, .watch(.events([put(renewed, revision: 31)], revision: 31)))
        #expect(actions.isEmpty)
        #expect(state.peers.count == 2)
    }

    @Test func anotherHostOnThisHostsSubnetStopsTheAgent() {
        let intruder = Self.host(1, underlay: "192.0.2.99", id: "someone-else")
        let (state, actions) = decide(joined(), .watch(.events([put(intruder)], revision: 20)))
        #expect(actions == [.exit(.subnetTaken("subnet 10.40.1.0/24 of overlay ov was taken by the host at 192.0.2.99; run swnet overlay leave ov and start the agent again"))])
        // Never a peer: no route to this host's own subnet through another.
        #expect(state.peers[keys.host(me.subnet)] == nil)
    }

    @Test func underlayMovesAndSignals() {
        let state = joined()
        #expect(decide(state, .addressesChanged).1 == [.checkUnderlay])
        #expect(work(decide(state, .underlayMoved("192.0.2.50 on eth1")).1) == [.rejoin])
        #expect(decide(state, .signal(15)).1 == [.exit(.signal(15))])
    }
}
