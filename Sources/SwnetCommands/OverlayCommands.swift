#if canImport(Glibc)
import Glibc
#endif
import Etcd
import IPAM
import JSON
import SwnetCore
import SwnetOverlay

enum OverlayCommand {
    static let definition = CommandDefinition(
        group: "overlay",
        abstract: "One network across many hosts (VXLAN or routed), with its state in etcd.",
        subcommands: [Create.definition, Agent.definition, Leave.definition, List.definition, Inspect.definition,
                      Remove.definition]
    )

    static let name = Argument<String>("NAME", help: "Overlay name (also the network's name on each joined host).", completes: .overlays)

    struct Create: RunnableCommand {
        static let subnets = Option<[IPNetwork]>(
            repeatable: "subnet", value: "CIDR", help: "The whole overlay's IPv4 subnet; an IPv6 one as well makes it dual stack.",
            transform: Parse.subnet)
        static let ipv6 = Option<Bool>(
            flag: "ipv6", help: "Dual stack: without an IPv6 --subnet, a unique local /48 derived from the name.")
        static let hostPrefix = Option<Int?>("host-prefix", value: "LEN", help: "Prefix length of each host's IPv4 share (default: 24).") { text throws(UsageError) in
            guard let value = Int(text), (1...32).contains(value) else { throw UsageError("invalid --host-prefix '\(text)': expected 1 to 32") }
            return value
        }
        static let hostPrefix6 = Option<Int?>("host-prefix6", value: "LEN", help: "Prefix length of each host's IPv6 share (default: 64).") { text throws(UsageError) in
            guard let value = Int(text), (1...128).contains(value) else { throw UsageError("invalid --host-prefix6 '\(text)': expected 1 to 128") }
            return value
        }
        static let vni = Option<UInt32?>("vni", value: "N", help: "VXLAN network identifier (default: 1).") { text throws(UsageError) in
            guard let value = UInt32(text), (1...0xff_ffff).contains(value) else { throw UsageError("invalid --vni '\(text)': expected 1 to 16777215") }
            return value
        }
        static let port = Option<UInt16?>("port", value: "N", help: "VXLAN UDP port (default: 4789).") { text throws(UsageError) in
            guard let value = UInt16(text), value > 0 else { throw UsageError("invalid --port '\(text)': expected 1 to 65535") }
            return value
        }
        static let mode = Option<OverlayMode?>("mode", value: "MODE", help: "vxlan (default) or host-gw (hosts on one L2 segment).",
                                               completes: .choices(["vxlan", "host-gw"])) { text throws(UsageError) in
            guard let mode = OverlayMode(rawValue: text) else { throw UsageError("invalid --mode '\(text)': expected vxlan or host-gw") }
            return mode
        }
        static let mtu = Option<UInt32?>("mtu", value: "N", help: "Containers' MTU (default: the underlay's, less 50 for vxlan, 70 over IPv6).",
                                         transform: Parse.mtu)

        static let definition = CommandDefinition(
            "create", abstract: "Write an overlay's configuration to etcd (once; the same again is fine).",
            arguments: [OverlayCommand.name],
            options: GlobalOptions.declarations + EtcdOptions.declarations + [subnets, ipv6, hostPrefix, hostPrefix6, vni, port, mode, mtu]
                + OutputOptions.declarations,
            runs: Self.self)

        let global: GlobalOptions
        let etcd: EtcdConfiguration
        let output: OutputOptions
        let configuration: OverlayConfiguration

        init(from values: ParsedValues) throws(UsageError) {
            global = GlobalOptions(values)
            etcd = try EtcdOptions.configuration(values)
            output = OutputOptions(values)
            let name = values[OverlayCommand.name]
            let (subnet, given6) = try Self.subnetPerFamily(values[Self.subnets])
            let subnet6 = given6 ?? (values[Self.ipv6] ? OverlayConfiguration.uniqueLocalSubnet(for: name) : nil)
            if subnet6 == nil, values[Self.hostPrefix6] != nil {
                throw UsageError("--host-prefix6 needs an IPv6 subnet: give --subnet CIDR or --ipv6")
            }
            configuration = OverlayConfiguration(
                name: name, subnet: subnet,
                hostPrefix: values[Self.hostPrefix] ?? OverlayConfiguration.defaultHostPrefix, subnet6: subnet6,
                hostPrefix6: values[Self.hostPrefix6] ?? OverlayConfiguration.defaultHostPrefix6, vni: values[Self.vni] ?? 1,
                port: values[Self.port] ?? OverlayConfiguration.defaultPort, mode: values[Self.mode] ?? .vxlan,
                mtu: values[Self.mtu])
        }

        /// The IPv4 subnet every overlay has, and the IPv6 one of a dual-stack overlay.
        static func subnetPerFamily(_ subnets: [IPNetwork]) throws(UsageError) -> (IPNetwork, IPNetwork?) {
            let v4 = subnets.filter { $0.family == .v4 }
            let v6 = subnets.filter { $0.family == .v6 }
            for given in [v4, v6] where given.count > 1 {
                throw UsageError("two \(given[0].family) subnets given (\(given.map(\.description).joined(separator: ", "))): an overlay has at most one per family")
            }
            guard let subnet = v4.first else { throw UsageError("an overlay needs an IPv4 --subnet CIDR (an IPv6 one may come with it)") }
            return (subnet, v6.first)
        }

        func run() throws {
            try global.makeSwnet().createOverlay(configuration, etcd: etcd)
            if output.json { printJSON(configuration) } else { print(configuration.name) }
        }
    }

    struct Agent: RunnableCommand {
        static let underlayIP = Option<IPAddress?>("underlay-ip", value: "IP",
                                                   help: "This host's address (IPv4 or IPv6) the others reach it at (default: the one towards etcd).",
                                                   transform: Parse.address)
        static let underlayDevice = Option<String?>("underlay-dev", value: "IFNAME", help: "Use this interface's IPv4 address (else its global IPv6 one) as the underlay IP.")
        static let ttl = Option<Int64?>("ttl", value: "SECONDS", help: "How long the registration outlives a dead agent (default: 60).") { text throws(UsageError) in
            guard let value = Int64(text), (3...86_400).contains(value) else { throw UsageError("invalid --ttl '\(text)': expected 3 to 86400 seconds") }
            return value
        }
        static let noChecksumOffload = Option<Bool>(flag: "no-tx-csum-offload",
                                                    help: "Turn off transmit checksum offload on the VXLAN device (flannel#1279).")

        static let definition = CommandDefinition(
            "agent", abstract: "Join this host to an overlay and keep its kernel in step with the others (foreground).",
            arguments: [OverlayCommand.name],
            options: GlobalOptions.declarations + EtcdOptions.declarations + [underlayIP, underlayDevice, ttl, noChecksumOffload],
            runs: Self.self)

        let global: GlobalOptions
        let options: OverlayAgentOptions

        init(from values: ParsedValues) throws(UsageError) {
            global = GlobalOptions(values)
            if values[Self.underlayIP] != nil && values[Self.underlayDevice] != nil {
                throw UsageError("give either --underlay-ip or --underlay-dev, not both")
            }
            options = OverlayAgentOptions(name: values[OverlayCommand.name], etcd: try EtcdOptions.configuration(values),
                                          underlayIP: values[Self.underlayIP], underlayDevice: values[Self.underlayDevice],
                                          ttl: values[Self.ttl] ?? 60, transmitChecksumOffload: !values[Self.noChecksumOffload])
        }

        /// Log lines on stdout: timestamped, or with journald's priority prefix under systemd
        /// (the journal stamps them itself). systemd hears READY=1 once the host has joined.
        func run() throws {
            let name = options.name
            let swnet = global.makeSwnet()
            let threshold = global.effectiveLogLevel(default: .info)
            let agent = try OverlayAgent(swnet: swnet, options: options, log: { level, message in
                guard level <= threshold else { return }
                let label = level <= .warning ? "\(level.name): " : ""
                writeLogLine(level, "overlay \(name): \(label)\(message)", to: 1, plain: "\(timestamp()) ")
            }, ready: { summary in
                SystemdNotify.send("READY=1\nSTATUS=\(summary)")
            })
            defer { SystemdNotify.send("STOPPING=1") }
            try agent.run()
        }
    }

    struct Leave: RunnableCommand {
        static let force = Option<Bool>(flag: "force", short: "f",
                                        help: "Detach containers still attached, and leave even when etcd is unreachable.")

        static let definition = CommandDefinition(
            "leave", abstract: "Take this host out of an overlay: its registration, bridge, VXLAN device and routes.",
            arguments: [OverlayCommand.name], options: GlobalOptions.declarations + EtcdOptions.declarations + [force],
            runs: Self.self)

        let overlay: NamedOverlay
        let force: Bool

        init(from values: ParsedValues) throws(UsageError) {
            overlay = try NamedOverlay(values)
            force = values[Self.force]
        }

        func run() throws {
            try overlay.global.makeSwnet().leaveOverlay(overlay.name, etcd: overlay.etcd, force: force)
            print(overlay.name)
        }
    }

    struct List: RunnableCommand {
        static let definition = CommandDefinition(
            "ls", aliases: ["list"], abstract: "List the overlays in etcd.",
            options: GlobalOptions.declarations + EtcdOptions.declarations + ListOptions.declarations(quietPrints: "names", example: "{{.Name}}\\t{{.Mode}}"), runs: Self.self)

        let global: GlobalOptions
        let etcd: EtcdConfiguration
        let output: ListOptions

        init(from values: ParsedValues) throws(UsageError) {
            global = GlobalOptions(values)
            etcd = try EtcdOptions.configuration(values)
            output = try ListOptions(values)
        }

        func run() throws {
            var listing = Listing([("Name", "NAME"), ("Subnet", "SUBNET"), ("Mode", "MODE"), ("VNI", "VNI"), ("Hosts", "HOSTS")])
            for overlay in try global.makeSwnet().listOverlays(etcd: etcd) {
                let configuration = overlay.configuration
                listing.append([configuration.name, configuration.subnets.map(\.description).joined(separator: ","), configuration.mode.rawValue,
                                configuration.mode == .vxlan ? String(configuration.vni) : "-", String(overlay.hostCount)],
                               json: overlay.json, quiet: configuration.name)
            }
            try output.print(listing)
        }
    }

    struct Inspect: RunnableCommand {
        static let definition = CommandDefinition(
            "inspect", abstract: "Show an overlay's hosts, and whether this host's kernel matches them.",
            arguments: [OverlayCommand.name],
            options: GlobalOptions.declarations + EtcdOptions.declarations + InspectOptions.declarations(example: "{{.name}} {{.config.subnet}} {{.local.joined}}"), runs: Self.self)

        let overlay: NamedOverlay
        let output: InspectOptions

        init(from values: ParsedValues) throws(UsageError) {
            overlay = try NamedOverlay(values)
            output = try InspectOptions(values)
        }

        func run() throws {
            let status = try overlay.global.makeSwnet().inspectOverlay(overlay.name, etcd: overlay.etcd)
            if try output.printFormatted([status.json]) { return }
            if output.json {
                printJSON(status)
                return
            }
            print("name:    \(status.configuration.name)")
            print("config:  \(status.configuration.summary)")
            if let local = status.local, let overlay = local.overlay {
                print("local:   subnet \(local.subnets.map(\.description).joined(separator: ", ")) on \(local.bridge) via \(overlay.tunnel), underlay \(overlay.underlayIP); kernel \(status.inSync ? "in sync" : "NOT in sync")")
                for difference in status.differences { print("         \(difference)") }
            } else {
                print("local:   not joined")
            }
            print("")
            // The IPv6 column only for a dual-stack overlay.
            let dualStack = status.configuration.subnet6 != nil
            var rows = [["SUBNET"] + (dualStack ? ["SUBNET6"] : []) + ["UNDERLAY IP", "VTEP MAC", "HOSTNAME", "LEASE"]]
            for host in status.hosts {
                let lease = status.leaseTimes[host.subnet].map { "\($0.granted)s, \($0.remaining)s left" } ?? "expired"
                rows.append([host.subnet.description] + (dualStack ? [host.subnet6?.description ?? "-"] : [])
                            + [host.underlayIP.description, host.vtepMAC?.description ?? "-",
                             host.hostname.isEmpty ? "-" : host.hostname, lease])
            }
            printTable(rows)
        }
    }

    struct Remove: RunnableCommand {
        static let definition = CommandDefinition(
            "rm", aliases: ["remove"], abstract: "Delete an overlay's configuration from etcd (no host may be joined).",
            arguments: [OverlayCommand.name], options: GlobalOptions.declarations + EtcdOptions.declarations, runs: Self.self)

        let overlay: NamedOverlay

        init(from values: ParsedValues) throws(UsageError) {
            overlay = try NamedOverlay(values)
        }

        func run() throws {
            try overlay.global.makeSwnet().removeOverlay(overlay.name, etcd: overlay.etcd)
            print(overlay.name)
        }
    }
}

/// What the verbs on one overlay read: the state root, etcd and the overlay's name.
struct NamedOverlay {
    let global: GlobalOptions
    let etcd: EtcdConfiguration
    let name: String

    init(_ values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        etcd = try EtcdOptions.configuration(values)
        name = values[OverlayCommand.name]
    }
}

/// `--etcd URL[,URL...]` (or $SWNET_ETCD) and the TLS files.
enum EtcdOptions {
    static let endpoints = Option<String?>("etcd", value: "URL[,URL...]", help: "etcd endpoints (also: $SWNET_ETCD).")
    static let caFile = Option<String?>("etcd-cafile", value: "FILE", help: "CA certificate that signed etcd's (https endpoints; also: $SWNET_ETCD_CAFILE).",
                                        completes: .files)
    static let certFile = Option<String?>("etcd-certfile", value: "FILE", help: "Client certificate for etcd (also: $SWNET_ETCD_CERTFILE).",
                                          completes: .files)
    static let keyFile = Option<String?>("etcd-keyfile", value: "FILE", help: "Key of the client certificate (also: $SWNET_ETCD_KEYFILE).",
                                         completes: .files)
    static let declarations: [any AnyOption] = [endpoints, caFile, certFile, keyFile]

    static func configuration(_ values: ParsedValues) throws(UsageError) -> EtcdConfiguration {
        let text = values[endpoints] ?? environment("SWNET_ETCD")
        let list = (text ?? "").split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
        guard !list.isEmpty else { throw UsageError("no etcd endpoint: give --etcd URL[,URL...] or set SWNET_ETCD") }
        let tls = EtcdTLS(caFile: values[caFile] ?? environment("SWNET_ETCD_CAFILE"),
                          certFile: values[certFile] ?? environment("SWNET_ETCD_CERTFILE"),
                          keyFile: values[keyFile] ?? environment("SWNET_ETCD_KEYFILE"))
        if (tls.certFile == nil) != (tls.keyFile == nil) {
            throw UsageError("--etcd-certfile and --etcd-keyfile go together (or SWNET_ETCD_CERTFILE and SWNET_ETCD_KEYFILE)")
        }
        return EtcdConfiguration(endpoints: list, tls: tls)
    }
}

/// "2026-11-29T14:03:07.123Z".
func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var parts = tm()
    var seconds = now.tv_sec
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))."
        + String(String(1000 + now.tv_nsec / 1_000_000).dropFirst()) + "Z"
}
