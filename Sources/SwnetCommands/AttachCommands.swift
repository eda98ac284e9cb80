import IPAM
import JSON
import Netlink
import SwnetCore

struct AttachCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "Container, PID, namespace name or namespace path.", completes: .targets)
    static let network = Argument<String>("NETWORK", help: "Network, bridge, or host interface name.", completes: .networks)
    static let extras = Argument<[String]>(
        variadic: "ADDRESS-OR-MAC", help: "IP/LEN[@GATEWAY] or dhcp[:OPTIONS], and/or MAC or U:STRING, and/or @VID.")
    static let interface = Option<String?>(
        short: "i", value: "IFNAME", help: "Interface name in the container (default: first free ethN).")
    static let hostInterface = Option<String?>(
        short: "l", value: "HOST_IFNAME", help: "Host-side interface name (default: derived from the target).")
    static let mtu = Option<UInt32?>("mtu", value: "N", help: "MTU (default: the bridge's).", transform: Parse.mtu)
    static let rate = Option<RateLimit?>(
        "rate", value: "RATE[/BURST]", help: "Limit the container's traffic both ways (tbf), e.g. 10mbit or 1gbit/64kb.",
        transform: Parse.rate)
    static let macvlanMode = Option<MacvlanMode?>(
        "macvlan-mode", value: "MODE", help: "For a host interface NETWORK: bridge (default), private, vepa or passthru.",
        transform: Parse.macvlanMode)
    static let direct = Option<Bool>(flag: "direct", help: "Move the host interface NETWORK itself into the container.")

    static let definition = CommandDefinition(
        "attach",
        abstract: "Attach a container's network namespace to a network (pipework-style).",
        discussion: """
        TARGET is a swnet container's name or id, a PID, a namespace name from /run/netns, a \
        path to a namespace file, or a podman or docker container (container:, pid:, netns:, \
        podman:, docker: force a kind). NETWORK is a swnet network, an existing Linux bridge, or a \
        new name: then a bridge and a network are created from IP/LEN. Without IP/LEN an address \
        is allocated. U:STRING derives a stable MAC from STRING. dhcp[:OPTIONS] gets the address \
        from a DHCP server instead, through busybox udhcpc (OPTIONS: its arguments) kept running in \
        the container's namespace until detach or the container's end. NETWORK may also be a host \
        interface that is not a bridge: a macvlan child of it (of its VLAN VID with @VID) goes \
        into the container, or with --direct the interface itself.
        """,
        usage: "swnet attach TARGET NETWORK [IP/LEN[@GATEWAY]|dhcp[:OPTIONS]] [MAC|U:STRING][@VID] [-i IFNAME] [-l HOST_IFNAME] [--mtu N] [--rate RATE[/BURST]] [--macvlan-mode MODE|--direct]",
        arguments: [target, network, extras],
        options: GlobalOptions.declarations + [interface, hostInterface, mtu, rate, macvlanMode, direct]
            + OutputOptions.declarations,
        runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let request: AttachRequest

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        var request = try Self.request(
            AttachRequest(target: values[Self.target], network: values[Self.network],
                          containerInterface: values[Self.interface], hostInterface: values[Self.hostInterface],
                          mtu: values[Self.mtu]),
            extras: values[Self.extras])
        request.rate = values[Self.rate]
        if values[Self.direct] {
            guard values[Self.macvlanMode] == nil else { throw UsageError("--direct and --macvlan-mode exclude each other") }
            request.hostInterfaceMode = .direct
        } else if let mode = values[Self.macvlanMode] {
            request.hostInterfaceMode = .macvlan(mode)
        }
        self.request = request
    }

    /// pipework's grammar after TARGET NETWORK: an IP/LEN[@GATEWAY] per family (IPv4, IPv6:
    /// both on a dual-stack network) or dhcp[:OPTIONS], and a MAC or U:STRING, either followed
    /// by (or alone as) @VID, in any order.
    static func request(_ request: AttachRequest, extras: [String]) throws(UsageError) -> AttachRequest {
        var request = request
        guard extras.count <= 4 else { throw UsageError("too many arguments: \(extras.joined(separator: " "))") }
        for var extra in extras {
            if let dhcp = try Parse.dhcp(extra) {
                guard request.addresses.isEmpty && request.dhcp == nil else {
                    throw UsageError("two addresses given: \(extras.joined(separator: " "))")
                }
                request.dhcp = dhcp
                continue
            }
            if let at = extra.lastIndex(of: "@"), !extra.contains("/") {
                guard request.vlan == nil else { throw UsageError("two VLANs given: \(extras.joined(separator: " "))") }
                let vid = extra[extra.index(after: at)...]
                guard let vlan = UInt16(vid), (1...4094).contains(vlan) else {
                    throw UsageError("invalid VLAN '@\(vid)': expected @VID with VID from 1 to 4094")
                }
                request.vlan = vlan
                extra = String(extra[..<at])
                if extra.isEmpty { continue }
            }
            if extra.contains("/") {
                guard request.dhcp == nil else { throw UsageError("two addresses given: \(extras.joined(separator: " "))") }
                let parts = extra.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
                guard let address = InterfaceAddress(String(parts[0])) else {
                    throw UsageError("invalid address '\(parts[0])': expected IP/LEN like 10.0.0.5/24 or fd00::5/64")
                }
                guard request.address(address.family) == nil else {
                    throw UsageError("two \(address.family) addresses given: \(extras.joined(separator: " "))")
                }
                request.addresses.append(address)
                if parts.count == 2 {
                    let gateway = try Parse.address(String(parts[1]))
                    guard gateway.family == address.family else {
                        throw UsageError("gateway \(gateway) of \(address) is not an \(address.family) address")
                    }
                    request.gateways.append(gateway)
                }
            } else if extra.hasPrefix("U:") {
                let seed = String(extra.dropFirst(2))
                guard !seed.isEmpty else { throw UsageError("U: needs a string to derive the MAC from") }
                request.mac = .derived(seed)
            } else if let mac = MACAddress(extra) {
                guard mac.bytes[0] & 1 == 0 else { throw UsageError("MAC \(mac) is a multicast address") }
                request.mac = .fixed(mac)
            } else {
                throw UsageError("invalid argument '\(extra)': expected IP/LEN[@GATEWAY], dhcp[:OPTIONS], a MAC, U:STRING or @VID")
            }
        }
        return request
    }

    func run() throws {
        let swnet = global.makeSwnet()
        if try swnet.attachesThroughInterface(request) {
            let record = try swnet.attachInterface(request)
            if output.json {
                printJSON(record)
                return
            }
            print("\(record.target): \(record.containerInterface) \(record.addressSummary) mac \(record.mac?.description ?? "-")"
                  + " \(record.kind.rawValue) on \(record.parent)\(record.hostInterface.map { " (host side \($0))" } ?? "")")
            return
        }
        let result = try swnet.attach(request)
        if output.json {
            printJSON(result)
            return
        }
        let attachment = result.attachment
        print("\(attachment.target): \(attachment.containerInterface) \(attachment.addressSummary) mac \(attachment.mac?.description ?? "-")"
              + " on \(attachment.network) (host side \(attachment.hostInterface))")
    }
}

struct DetachCommand: RunnableCommand {
    static let network = Argument<String?>(
        optional: "NETWORK", help: "Network name (default: every network the target is on).", completes: .networks)
    static let interface = Option<String?>(short: "i", value: "IFNAME", help: "Only the container interface IFNAME.")

    static let definition = CommandDefinition(
        "detach",
        abstract: "Remove a container's interfaces from a network (or all networks) and release their addresses.",
        arguments: [AttachCommand.target, network],
        options: GlobalOptions.declarations + [interface] + OutputOptions.declarations,
        runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let request: DetachRequest

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        request = DetachRequest(target: values[AttachCommand.target], network: values[Self.network],
                                containerInterface: values[Self.interface])
    }

    func run() throws {
        let detached = try global.makeSwnet().detachAll(request)
        if output.json {
            print(JSON.array(detached.attachments.map(\.json) + detached.interfaces.map(\.json)).serialized(pretty: true))
            return
        }
        for attachment in detached.attachments {
            print("\(attachment.target): removed \(attachment.containerInterface) \(attachment.addressSummary) from \(attachment.network)")
        }
        for record in detached.interfaces {
            print("\(record.target): removed \(record.containerInterface) (\(record.kind.rawValue)) from \(record.parent)")
        }
    }
}

struct GCCommand: RunnableCommand {
    static let definition = CommandDefinition(
        "gc", abstract: "Release leases and remove interfaces whose namespace is gone or that a crash left half made.",
        options: GlobalOptions.declarations + OutputOptions.declarations, runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
    }

    func run() throws {
        let report = try global.makeSwnet().collectGarbage()
        if output.json {
            printJSON(report)
            return
        }
        for attachment in report.attachments {
            print("removed \(attachment.network) attachment of \(attachment.target) (\(attachment.addressSummary))")
        }
        for lease in report.orphanLeases { print("released orphan lease \(lease)") }
        for record in report.interfaces {
            print("removed \(record.kind.rawValue) attachment of \(record.target) (\(record.containerInterface) on \(record.parent))")
        }
    }
}
