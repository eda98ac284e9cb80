import ArgumentParser
import IPAM
import JSON
import Netlink
import SwnetCore

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach a container's network namespace to a network (pipework-style).",
        usage: "swnet attach TARGET NETWORK [IP/LEN[@GATEWAY]] [MAC|U:STRING] [-i IFNAME] [-l HOST_IFNAME] [--mtu N]",
        discussion: """
        TARGET is a PID, a namespace name from /run/netns, or a path to a namespace file \
        (pid:, netns: force a kind). NETWORK is a swnet network, an existing Linux bridge, or a \
        new name: then a bridge and a network are created from IP/LEN. Without IP/LEN an address \
        is allocated. U:STRING derives a stable MAC from STRING.
        """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "PID, namespace name or namespace path.") var target: String
    @Argument(help: "Network, or bridge, name.") var network: String
    @Argument(help: ArgumentHelp("IP/LEN[@GATEWAY] and/or MAC or U:STRING.", valueName: "ADDRESS-OR-MAC"))
    var extras: [String] = []
    @Option(name: .short, help: ArgumentHelp("Interface name in the container (default: first free ethN).", valueName: "IFNAME"))
    var interface: String?
    @Option(name: .customShort("l"), help: ArgumentHelp("Host-side interface name (default: derived from the target).", valueName: "HOST_IFNAME"))
    var hostInterface: String?
    @Option(help: ArgumentHelp("MTU (default: the bridge's).", valueName: "N"), transform: Parse.mtu)
    var mtu: UInt32?
    @OptionGroup var output: OutputOptions

    func request() throws -> AttachRequest {
        var request = AttachRequest(target: target, network: network, containerInterface: interface,
                                    hostInterface: hostInterface, mtu: mtu)
        guard extras.count <= 2 else { throw ValidationError("too many arguments: \(extras.joined(separator: " "))") }
        for extra in extras {
            if extra.contains("/") {
                guard request.address == nil else { throw ValidationError("two addresses given: \(extras.joined(separator: " "))") }
                let parts = extra.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
                guard let address = InterfaceAddress(String(parts[0])) else {
                    throw ValidationError("invalid address '\(parts[0])': expected IP/LEN like 10.0.0.5/24")
                }
                request.address = address
                if parts.count == 2 { request.gateway = try Parse.address(String(parts[1])) }
            } else if extra.hasPrefix("U:") {
                let seed = String(extra.dropFirst(2))
                guard !seed.isEmpty else { throw ValidationError("U: needs a string to derive the MAC from") }
                request.mac = .derived(seed)
            } else if let mac = MACAddress(extra) {
                guard mac.bytes[0] & 1 == 0 else { throw ValidationError("MAC \(mac) is a multicast address") }
                request.mac = .fixed(mac)
            } else if ["dhcp", "udhcpc", "dhclient", "dhcpcd"].contains(where: { extra.hasPrefix($0) }) {
                throw ValidationError("DHCP is not supported: give IP/LEN, or nothing to let swnet allocate one")
            } else {
                throw ValidationError("invalid argument '\(extra)': expected IP/LEN[@GATEWAY], a MAC or U:STRING")
            }
        }
        return request
    }

    func validate() throws { _ = try request() }

    func run() throws {
        let result = try global.makeSwnet().attach(request())
        if output.json {
            printJSON(result)
            return
        }
        let attachment = result.attachment
        print("\(attachment.target): \(attachment.containerInterface) \(attachment.address) mac \(attachment.mac ?? "-")"
              + " on \(attachment.network) (host side \(attachment.hostInterface))")
    }
}

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Remove a container's interfaces from a network (or all networks) and release their addresses."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "PID, namespace name or namespace path.") var target: String
    @Argument(help: "Network name (default: every network the target is on).") var network: String?
    @Option(name: .short, help: ArgumentHelp("Only the container interface IFNAME.", valueName: "IFNAME"))
    var interface: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let detached = try global.makeSwnet().detach(
            DetachRequest(target: target, network: network, containerInterface: interface))
        if output.json {
            print(JSON.array(detached.map(\.json)).serialized(pretty: true))
            return
        }
        for attachment in detached {
            print("\(attachment.target): removed \(attachment.containerInterface) \(attachment.address) from \(attachment.network)")
        }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Release leases and remove interfaces whose namespace is gone or that a crash left half made."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

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
