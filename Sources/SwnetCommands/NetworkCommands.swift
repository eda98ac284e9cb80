import ArgumentParser
import IPAM
import JSON
import SwnetCore

struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Create, list, inspect and remove networks.",
        subcommands: [Create.self, Remove.self, List.self, Inspect.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a network and its bridge.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Network name.") var name: String
        @Option(help: ArgumentHelp("Subnet in CIDR form.", valueName: "CIDR"), transform: Parse.subnet)
        var subnet: IPNetwork
        @Option(help: ArgumentHelp("Gateway address on the bridge (default: the subnet's first address).", valueName: "IP"),
                transform: Parse.address)
        var gateway: IPAddress?
        @Option(help: ArgumentHelp("Bridge interface name (default: the network name when it fits 15 bytes).", valueName: "IFNAME"))
        var bridge: String?
        @Option(help: ArgumentHelp("Bridge MTU.", valueName: "N"), transform: Parse.mtu)
        var mtu: UInt32?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let network = try global.makeSwnet().createNetwork(
                NetworkRequest(name: name, subnet: subnet, gateway: gateway, bridge: bridge, mtu: mtu))
            if output.json { printJSON(network) } else { print(network.name) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks.", aliases: ["remove"])

        @OptionGroup var global: GlobalOptions
        @Flag(name: [.short, .long], help: "Also detach everything attached to them.") var force = false
        @Argument(help: "Network names.") var names: [String]

        func validate() throws {
            if names.isEmpty { throw ValidationError("network rm needs at least one network name") }
        }

        func run() throws {
            try global.makeSwnet().removeNetworks(names, force: force)
            names.forEach { print($0) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let networks = try global.makeSwnet().listNetworks()
            if output.json {
                print(JSON.array(networks.map(\.json)).serialized(pretty: true))
                return
            }
            var rows = [["NAME", "SUBNET", "GATEWAY", "BRIDGE", "ATTACHMENTS"]]
            for status in networks {
                let network = status.definition
                let bridge = network.bridge + (status.bridgeIndex == nil ? " (missing)" : "")
                rows.append([network.name, network.subnet.description, network.gateway?.description ?? "-",
                             bridge, String(status.attachments.count)])
            }
            printTable(rows)
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a network with its attachments.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Network name.") var name: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let status = try global.makeSwnet().inspectNetwork(name)
            if output.json {
                printJSON(status)
                return
            }
            let network = status.definition
            print("name:     \(network.name)")
            print("subnet:   \(network.subnet)")
            print("gateway:  \(network.gateway?.description ?? "-")")
            print("bridge:   \(network.bridge)\(network.managesBridge ? "" : " (not managed by swnet)")\(status.bridgeIndex == nil ? " (missing)" : "")")
            print("mtu:      \(network.mtu.map(String.init) ?? "default")")
            guard !status.attachments.isEmpty else { return }
            print("")
            var rows = [["TARGET", "INTERFACE", "ADDRESS", "MAC", "HOST INTERFACE"]]
            for attachment in status.attachments {
                rows.append([attachment.target, attachment.containerInterface, attachment.address.description,
                             attachment.mac ?? "-", attachment.hostInterface])
            }
            printTable(rows)
        }
    }
}

func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == columns - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 3)
        }
        print(cells.joined())
    }
}
