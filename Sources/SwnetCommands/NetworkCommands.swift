import IPAM
import JSON
import SwnetCore

enum NetworkCommand {
    static let definition = CommandDefinition(
        group: "network",
        abstract: "Create, list, inspect and remove networks.",
        subcommands: [Create.definition, Remove.definition, List.definition, Inspect.definition]
    )

    static let name = Argument<String>("NAME", help: "Network name.", completes: .networks)

    struct Create: RunnableCommand {
        static let subnets = Option<[IPNetwork]>(
            repeatable: "subnet", value: "CIDR", help: "Subnet in CIDR form; one IPv4 and one IPv6 make a dual-stack network.",
            transform: Parse.subnet)
        static let gateways = Option<[IPAddress]>(
            repeatable: "gateway", value: "IP", help: "Gateway address on the bridge, one per family (default: the subnet's first address).",
            transform: Parse.address)
        static let ipv6 = Option<Bool>(
            flag: "ipv6", help: "Add an IPv6 subnet: without an IPv6 --subnet, a unique local /64 derived from the name.")
        static let bridge = Option<String?>(
            "bridge", value: "IFNAME", help: "Bridge interface name (default: the network name when it fits 15 bytes).")
        static let mtu = Option<UInt32?>("mtu", value: "N", help: "Bridge MTU.", transform: Parse.mtu)
        static let noMasquerade = Option<Bool>(flag: "no-masquerade", help: "Do not masquerade traffic leaving the network.")
        static let isInternal = Option<Bool>(flag: "internal", help: "No way out of the network at all.")
        static let newName = Argument<String>("NAME", help: "Network name.")

        static let definition = CommandDefinition(
            "create", abstract: "Create a network and its bridge.",
            discussion: """
            A network has an IPv4 subnet, an IPv6 subnet, or both (dual stack: every attachment \
            gets an address and a default route of each family). IPv6 subnets that are unique \
            local (fc00::/7) are masqueraded on their way out like IPv4 ones; others are routed as they are.
            """,
            arguments: [newName],
            options: GlobalOptions.declarations + [subnets, gateways, ipv6, bridge, mtu, noMasquerade, isInternal] + OutputOptions.declarations,
            runs: Self.self)

        let global: GlobalOptions
        let output: OutputOptions
        let request: NetworkRequest

        init(from values: ParsedValues) {
            global = GlobalOptions(values)
            output = OutputOptions(values)
            request = NetworkRequest(name: values[Self.newName], subnets: values[Self.subnets], gateways: values[Self.gateways],
                                     ipv6: values[Self.ipv6], bridge: values[Self.bridge], mtu: values[Self.mtu],
                                     masquerade: !values[Self.noMasquerade], isInternal: values[Self.isInternal])
        }

        func run() throws {
            let network = try global.makeSwnet().createNetwork(request)
            if output.json { printJSON(network) } else { print(network.name) }
        }
    }

    struct Remove: RunnableCommand {
        static let force = Option<Bool>(flag: "force", short: "f", help: "Also detach everything attached to them.")
        static let names = Argument<[String]>(variadic: "NAME", minimum: 1, help: "Network names.", completes: .networks)

        static let definition = CommandDefinition(
            "rm", aliases: ["remove"], abstract: "Remove networks.",
            arguments: [names], options: GlobalOptions.declarations + [force], runs: Self.self)

        let global: GlobalOptions
        let force: Bool
        let names: [String]

        init(from values: ParsedValues) {
            global = GlobalOptions(values)
            force = values[Self.force]
            names = values[Self.names]
        }

        func run() throws {
            try global.makeSwnet().removeNetworks(names, force: force)
            names.forEach { print($0) }
        }
    }

    struct List: RunnableCommand {
        static let filter = Filters.option(keys: ["name", "bridge", "type"], values: ["type": ["local", "overlay"]]) { key, value throws(UsageError) in
            if key == "type" && value != "local" && value != "overlay" {
                throw UsageError("invalid filter 'type=\(value)': expected local or overlay")
            }
        }

        static let definition = CommandDefinition(
            "ls", aliases: ["list"], abstract: "List networks.",
            discussion: "Filters: name=PART (names containing PART), bridge=IFNAME, type=local|overlay.",
            options: GlobalOptions.declarations + ListOptions.declarations(quietPrints: "names", example: "{{.Name}}\\t{{.Subnet}}") + [filter], runs: Self.self)

        let global: GlobalOptions
        let output: ListOptions
        let filters: Filters

        init(from values: ParsedValues) throws(UsageError) {
            global = GlobalOptions(values)
            output = try ListOptions(values)
            filters = Filters(values[Self.filter])
        }

        func run() throws {
            var listing = Listing([("Name", "NAME"), ("Subnet", "SUBNET"), ("Gateway", "GATEWAY"), ("Bridge", "BRIDGE"),
                                   ("Attachments", "ATTACHMENTS")])
            for status in try global.makeSwnet().listNetworks() {
                let network = status.definition
                guard filters.allows("name", { network.name.contains($0) }),
                      filters.allows("bridge", { network.bridge == $0 }),
                      filters.allows("type", { ($0 == "overlay") == (network.overlay != nil) }) else { continue }
                let bridge = network.bridge + (status.bridgeIndex == nil ? " (missing)" : "")
                listing.append([network.name, network.subnets.map(\.description).joined(separator: ","),
                                network.gateways.isEmpty ? "-" : network.gateways.map(\.description).joined(separator: ","),
                                bridge, String(status.attachments.count)], json: status.json, quiet: network.name)
            }
            try output.print(listing)
        }
    }

    struct Inspect: RunnableCommand {
        static let definition = CommandDefinition(
            "inspect", abstract: "Show a network with its attachments.",
            arguments: [NetworkCommand.name], options: GlobalOptions.declarations + InspectOptions.declarations(example: "{{.subnet}} {{json .attachments}}"), runs: Self.self)

        let global: GlobalOptions
        let output: InspectOptions
        let name: String

        init(from values: ParsedValues) throws(UsageError) {
            global = GlobalOptions(values)
            output = try InspectOptions(values)
            name = values[NetworkCommand.name]
        }

        func run() throws {
            let status = try global.makeSwnet().inspectNetwork(name)
            if try output.printFormatted([status.json]) { return }
            if output.json {
                printJSON(status)
                return
            }
            let network = status.definition
            print("name:     \(network.name)")
            print("subnet:   \(network.subnets.map(\.description).joined(separator: ", "))")
            print("gateway:  \(network.gateways.isEmpty ? "-" : network.gateways.map(\.description).joined(separator: ", "))")
            print("bridge:   \(network.bridge)\(network.managesBridge ? "" : " (not managed by swnet)")\(status.bridgeIndex == nil ? " (missing)" : "")")
            print("mtu:      \(network.mtu.map(String.init) ?? "default")")
            if let counters = status.fastPath.counters {
                print("fast path: loaded; packets on this host: \(counters.redirected) container to container, "
                      + "\(counters.toTunnel) to other hosts, \(counters.fromTunnel) from other hosts, \(counters.passed) left to the normal path")
            } else {
                print("fast path: not loaded")
            }
            guard !status.attachments.isEmpty || !status.interfaces.isEmpty else { return }
            print("")
            var rows = [["TARGET", "INTERFACE", "ADDRESS", "MAC", "HOST INTERFACE", "DATA PATH"]]
            for attachment in status.attachments {
                let path = attachment.fastPathUnavailable.map { "bridge (fast path unavailable: \($0))" } ?? attachment.dataPath
                rows.append([attachment.target, attachment.containerInterface, attachment.addressSummary,
                             attachment.mac?.description ?? "-", attachment.hostInterface, path])
            }
            for interface in status.interfaces {
                rows.append([interface.target, interface.containerInterface,
                             interface.addressSummary,
                             interface.mac?.description ?? "-", interface.hostInterface ?? "-", "bridge"])
            }
            printTable(rows)
        }
    }
}

func printTable(_ rows: [[String]]) {
    alignedColumns(rows).forEach { print($0) }
}
