import IPAM
import JSON
import Netlink
import SwnetCore

struct AttachCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "PID, namespace name or namespace path.", completes: .targets)
    static let network = Argument<String>("NETWORK", help: "Network, or bridge, name.", completes: .networks)
    static let extras = Argument<[String]>(variadic: "ADDRESS-OR-MAC", help: "IP/LEN[@GATEWAY] and/or MAC or U:STRING.")
    static let interface = Option<String?>(
        short: "i", value: "IFNAME", help: "Interface name in the container (default: first free ethN).")
    static let hostInterface = Option<String?>(
        short: "l", value: "HOST_IFNAME", help: "Host-side interface name (default: derived from the target).")
    static let mtu = Option<UInt32?>("mtu", value: "N", help: "MTU (default: the bridge's).", transform: Parse.mtu)

    static let definition = CommandDefinition(
        "attach",
        abstract: "Attach a container's network namespace to a network (pipework-style).",
        discussion: """
        TARGET is a PID, a namespace name from /run/netns, or a path to a namespace file \
        (pid:, netns: force a kind). NETWORK is a swnet network, an existing Linux bridge, or a \
        new name: then a bridge and a network are created from IP/LEN. Without IP/LEN an address \
        is allocated. U:STRING derives a stable MAC from STRING.
        """,
        usage: "swnet attach TARGET NETWORK [IP/LEN[@GATEWAY]] [MAC|U:STRING] [-i IFNAME] [-l HOST_IFNAME] [--mtu N]",
        arguments: [target, network, extras],
        options: GlobalOptions.declarations + [interface, hostInterface, mtu] + OutputOptions.declarations,
        runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let request: AttachRequest

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        request = try Self.request(
            AttachRequest(target: values[Self.target], network: values[Self.network],
                          containerInterface: values[Self.interface], hostInterface: values[Self.hostInterface],
                          mtu: values[Self.mtu]),
            extras: values[Self.extras])
    }

    /// pipework's grammar after TARGET NETWORK: at most an IP/LEN[@GATEWAY] and a MAC or U:STRING,
    /// in either order.
    static func request(_ request: AttachRequest, extras: [String]) throws(UsageError) -> AttachRequest {
        var request = request
        guard extras.count <= 2 else { throw UsageError("too many arguments: \(extras.joined(separator: " "))") }
        for extra in extras {
            if extra.contains("/") {
                guard request.address == nil else { throw UsageError("two addresses given: \(extras.joined(separator: " "))") }
                let parts = extra.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
                guard let address = InterfaceAddress(String(parts[0])) else {
                    throw UsageError("invalid address '\(parts[0])': expected IP/LEN like 10.0.0.5/24")
                }
                request.address = address
                if parts.count == 2 { request.gateway = try Parse.address(String(parts[1])) }
            } else if extra.hasPrefix("U:") {
                let seed = String(extra.dropFirst(2))
                guard !seed.isEmpty else { throw UsageError("U: needs a string to derive the MAC from") }
                request.mac = .derived(seed)
            } else if let mac = MACAddress(extra) {
                guard mac.bytes[0] & 1 == 0 else { throw UsageError("MAC \(mac) is a multicast address") }
                request.mac = .fixed(mac)
            } else if ["dhcp", "udhcpc", "dhclient", "dhcpcd"].contains(where: { extra.hasPrefix($0) }) {
                throw UsageError("DHCP is not supported: give IP/LEN, or nothing to let swnet allocate one")
            } else {
                throw UsageError("invalid argument '\(extra)': expected IP/LEN[@GATEWAY], a MAC or U:STRING")
            }
        }
        return request
    }

    func run() throws {
        let result = try global.makeSwnet().attach(request)
        if output.json {
            printJSON(result)
            return
        }
        let attachment = result.attachment
        print("\(attachment.target): \(attachment.containerInterface) \(attachment.address) mac \(attachment.mac ?? "-")"
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
        let detached = try global.makeSwnet().detach(request)
        if output.json {
            print(JSON.array(detached.map(\.json)).serialized(pretty: true))
            return
        }
        for attachment in detached {
            print("\(attachment.target): removed \(attachment.containerInterface) \(attachment.address) from \(attachment.network)")
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
            print("removed \(attachment.network) attachment of \(attachment.target) (\(attachment.address))")
        }
        for lease in report.orphanLeases { print("released orphan lease \(lease)") }
    }
}
