// swnet-bench: drives SwnetCore and Netlink in one process for scripts/bench.sh, so that the
// figures show what swnet's own work costs once process start-up is taken out. Not installed.
//
// Every timed operation prints one line `OPERATION INDEX MICROSECONDS` on stdout; the script
// computes medians and means from those lines. Progress and errors go to stderr.
//
//   swnet-bench attach --root DIR --network NAME --subnet CIDR --targets PREFIX --count N
//                      [--detach K] [--remove]
//       Creates NAME (untimed), attaches targets PREFIX1 ... PREFIXN in order (`attach i µs`),
//       then detaches the first K of them one by one (`detach i µs`), then, with --remove,
//       removes the network with force: the remaining attachments and the bridge in one
//       kernel request (`remove LINKS µs`, LINKS = veths + bridge deleted).
//   swnet-bench populate --root DIR --networks NAME[,NAME...] --targets PREFIX --count N
//       Attaches PREFIX1 ... PREFIXN to every one of the (existing) networks: the state and the
//       kernel of a host with many containers, made quickly. Prints `populate ATTACHMENTS µs`.
//   swnet-bench delete-links NAME...
//       Deletes each named link with one RTM_DELLINK, timing only that request
//       (`dellink i µs`); the index lookup happens before the clock starts.
//   swnet-bench register-peers --etcd URL --overlay NAME --count N --ttl SECONDS [--first I]
//       Registers N simulated hosts in an overlay through SwnetOverlay's OverlayHost, as agents
//       would: host I (from I = 1 on, or the given first) gets the overlay's I-th host subnet,
//       underlay address 198.18.0.0 + I (the benchmarking range, RFC 2544) and VTEP MAC
//       02:5e:00:00:II:II, all under one new lease of SECONDS, whose id (hex) it prints.
//   swnet-bench noop
//       Does nothing: process start of a binary that links SwnetCore.

#if canImport(Glibc)
import Glibc
#endif
import Etcd
import IPAM
import Netlink
import SwnetCore
import SwnetOverlay

func now() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func micros(since start: Int64) -> String {
    let nanos = now() - start
    let whole = nanos / 1000
    let fraction = (nanos % 1000) / 10
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// Progress and errors go to file descriptor 2 directly (Glibc's `stderr` is a mutable global).
func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func fail(_ message: String) -> Never {
    printError("swnet-bench: \(message)")
    exit(1)
}

/// `--name value` options and bare flags, in any order after the mode.
struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []

    init(_ arguments: ArraySlice<String>, flags known: Set<String>) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else { fail("unexpected argument \(argument)") }
            let name = String(argument.dropFirst(2))
            if known.contains(name) {
                flags.insert(name)
            } else {
                guard let value = rest.popFirst() else { fail("\(argument) needs a value") }
                values[name] = value
            }
        }
    }

    func required(_ name: String) -> String {
        guard let value = values[name] else { fail("missing --\(name)") }
        return value
    }

    func integer(_ name: String, default fallback: Int? = nil) -> Int {
        guard let text = values[name] else {
            guard let fallback else { fail("missing --\(name)") }
            return fallback
        }
        guard let value = Int(text), value >= 0 else { fail("--\(name) needs a number, not \(text)") }
        return value
    }
}

func runAttach(_ options: Options) throws {
    let root = options.required("root")
    let network = options.required("network")
    guard let subnet = IPNetwork(options.required("subnet")) else { fail("invalid --subnet") }
    let prefix = options.required("targets")
    let count = options.integer("count")
    let detachCount = min(options.integer("detach", default: 0), count)

    let swnet = Swnet(location: StateLocation.resolve(root: root))
    try swnet.createNetwork(NetworkRequest(name: network, subnet: subnet))

    let progressEvery = max(count / 10, 1)
    for index in stride(from: 1, through: count, by: 1) {
        let request = AttachRequest(target: "\(prefix)\(index)", network: network)
        let start = now()
        try swnet.attach(request)
        print("attach \(index) \(micros(since: start))")
        if index % progressEvery == 0 { printError("bench:   library: \(index)/\(count) attached") }
    }
    for index in stride(from: 1, through: detachCount, by: 1) {
        let request = DetachRequest(target: "\(prefix)\(index)", network: network)
        let start = now()
        try swnet.detach(request)
        print("detach \(index) \(micros(since: start))")
    }
    if options.flags.contains("remove") {
        // The remaining veths plus the bridge go in one request.
        let links = count - detachCount + 1
        let start = now()
        try swnet.removeNetworks([network], force: true)
        print("remove \(links) \(micros(since: start))")
    }
}

func runPopulate(_ options: Options) throws {
    let swnet = Swnet(location: StateLocation.resolve(root: options.required("root")))
    let networks = options.required("networks").split(separator: ",").map(String.init)
    let prefix = options.required("targets")
    let count = options.integer("count")
    let start = now()
    for index in stride(from: 1, through: count, by: 1) {
        for network in networks { try swnet.attach(AttachRequest(target: "\(prefix)\(index)", network: network)) }
        if index % max(count / 10, 1) == 0 { printError("bench:   library: \(index)/\(count) namespaces on \(networks.count) networks") }
    }
    print("populate \(count * networks.count) \(micros(since: start))")
}

func runDeleteLinks(_ names: ArraySlice<String>) throws {
    let netlink = try NetlinkHandle()
    for (offset, name) in names.enumerated() {
        guard let link = try netlink.link(named: name) else { fail("no link named \(name)") }
        let start = now()
        try netlink.deleteLink(index: link.index)
        print("dellink \(offset + 1) \(micros(since: start))")
    }
}

func runRegisterPeers(_ options: Options) throws {
    let etcd = EtcdConfiguration(endpoints: [options.required("etcd")])
    let overlay = options.required("overlay")
    let count = options.integer("count")
    let first = options.integer("first", default: 1)
    let last = first + count - 1
    let swnet = Swnet(location: StateLocation.resolve(root: nil))
    let client = try EtcdClient(etcd)
    let configuration = try swnet.overlayConfiguration(overlay, client: client)
    let hostBits = configuration.subnet.family == .v4 ? 32 : 128
    guard let underlay = IPNetwork("198.18.0.0/15"), first >= 1, last < 65535,
          last < 1 << (configuration.hostPrefix - configuration.subnet.prefixLength)
    else { fail("simulated peers \(first) to \(last) do not fit") }
    let lease = try client.grantLease(ttl: Int64(options.integer("ttl"))).id
    for index in stride(from: first, through: last, by: 1) {
        let offset = UInt128(index) << (hostBits - configuration.hostPrefix)
        guard let address = configuration.subnet.address(atOffset: offset),
              let subnet = IPNetwork(address: address, prefixLength: configuration.hostPrefix),
              let underlayIP = underlay.address(atOffset: UInt128(index)),
              let mac = MACAddress(bytes: [0x02, 0x5e, 0, 0, UInt8(index >> 8), UInt8(index & 0xff)])
        else { fail("no subnet for simulated peer \(index)") }
        let host = OverlayHost(subnet: subnet, subnet6: configuration.hostSubnet6(pairedWith: subnet), underlayIP: underlayIP, vtepMAC: mac,
                               hostID: "simulated-\(index)", hostname: "sim\(index)")
        guard try host.register(in: overlay, lease: lease, client: client) else { fail("subnet \(subnet) is taken") }
    }
    print(String(lease, radix: 16))
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    fail("usage: swnet-bench attach --root DIR --network NAME --subnet CIDR --targets PREFIX --count N [--detach K] [--remove] | delete-links NAME... | register-peers --etcd URL --overlay NAME --count N --ttl SECONDS | noop")
}
do {
    switch arguments[1] {
    case "attach": try runAttach(Options(arguments.dropFirst(2), flags: ["remove"]))
    case "populate": try runPopulate(Options(arguments.dropFirst(2), flags: []))
    case "delete-links": try runDeleteLinks(arguments.dropFirst(2))
    case "register-peers": try runRegisterPeers(Options(arguments.dropFirst(2), flags: []))
    case "noop": break
    default: fail("unknown mode \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
