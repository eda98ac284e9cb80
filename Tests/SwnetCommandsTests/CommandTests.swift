import IPAM
import Netlink
import SwnetCore
import SwnetOverlay
import Testing
@testable import SwnetCommands

private struct NotACommandToRun: Error {}

/// The command a command line builds.
private func command<Command: RunnableCommand>(
    _ arguments: [String], as type: Command.Type, in tree: CommandDefinition = SwnetCommand.definition
) throws -> Command {
    guard case .run(let command) = try tree.parse(arguments) else {
        throw NotACommandToRun()
    }
    return try #require(command as? Command)
}

/// The command whose help a command line asks for, as `swnet network create`; nil when it asks for something else.
private func helpRequested(by arguments: [String]) throws -> String? {
    guard case .help(let path) = try SwnetCommand.parse(arguments) else { return nil }
    return path.name
}

@Suite struct SwnetCommandTests {
    @Test func parsesPipeworkStyleAttach() throws {
        let attach = try command(
            ["attach", "c1", "br0", "10.0.0.5/24@10.0.0.254", "U:web", "-i", "eth1", "-l", "h0", "--mtu", "1400", "--json"],
            as: AttachCommand.self)
        #expect(attach.request.target == "c1")
        #expect(attach.request.network == "br0")
        #expect(attach.request.addresses == [InterfaceAddress("10.0.0.5/24")!])
        #expect(attach.request.gateways == [IPAddress("10.0.0.254")!])
        #expect(attach.request.mac == .derived("web"))
        #expect(attach.request.containerInterface == "eth1")
        #expect(attach.request.hostInterface == "h0")
        #expect(attach.request.mtu == 1400)
        #expect(attach.output.json)
        #expect(attach.global.root == nil)
    }

    /// pipework#124: an IPv4 and an IPv6 address, each with its gateway, in one attach.
    @Test func parsesADualStackAttach() throws {
        let attach = try command(["attach", "c1", "br0", "fd00::5/64@fd00::1", "10.0.0.5/24@10.0.0.1", "U:web@7"], as: AttachCommand.self)
        #expect(attach.request.addresses == [InterfaceAddress("fd00::5/64")!, InterfaceAddress("10.0.0.5/24")!])
        #expect(attach.request.gateway(.v4) == IPAddress("10.0.0.1") && attach.request.gateway(.v6) == IPAddress("fd00::1"))
        #expect(attach.request.mac == .derived("web") && attach.request.vlan == 7)
        let create = try command(["network", "create", "d", "--subnet", "10.1.0.0/24", "--subnet", "fd00:1::/64",
                                  "--gateway", "fd00:1::fe", "--ipv6"], as: NetworkCommand.Create.self)
        #expect(create.request.subnets == [IPNetwork("10.1.0.0/24")!, IPNetwork("fd00:1::/64")!])
        #expect(create.request.gateways == [IPAddress("fd00:1::fe")!] && create.request.ipv6)
    }

    @Test func acceptsAMACWithoutAnAddress() throws {
        let attach = try command(["attach", "123", "br0", "02:00:00:00:00:01"], as: AttachCommand.self)
        #expect(attach.request.mac == .fixed(MACAddress("02:00:00:00:00:01")!))
        #expect(attach.request.addresses.isEmpty)
        #expect(!attach.output.json)
    }

    @Test func acceptsAttachedValuesAndOptionsAnywhere() throws {
        let attach = try command(["attach", "--mtu=1400", "c1", "-ieth1", "--root=/tmp/s", "br0", "-lh0"], as: AttachCommand.self)
        #expect(attach.request.target == "c1")
        #expect(attach.request.network == "br0")
        #expect(attach.request.mtu == 1400)
        #expect(attach.request.containerInterface == "eth1")
        #expect(attach.request.hostInterface == "h0")
        #expect(attach.global.root == "/tmp/s")
    }

    @Test func parsesNetworkCreate() throws {
        let create = try command(
            ["network", "create", "n1", "--subnet", "10.1.0.0/24", "--gateway=10.1.0.254", "--bridge", "br-n1", "--json"],
            as: NetworkCommand.Create.self)
        #expect(create.request.name == "n1")
        #expect(create.request.subnets == [IPNetwork("10.1.0.0/24")!])
        #expect(create.request.gateways == [IPAddress("10.1.0.254")!])
        #expect(!create.request.ipv6)
        #expect(create.request.bridge == "br-n1")
        #expect(create.request.mtu == nil)
        #expect(create.output.json)
    }

    @Test func resolvesAliasesAndShortFlags() throws {
        let remove = try command(["network", "remove", "-f", "a", "b"], as: NetworkCommand.Remove.self)
        #expect(remove.force)
        #expect(remove.names == ["a", "b"])
        #expect(try !command(["network", "rm", "a"], as: NetworkCommand.Remove.self).force)
        guard case .jsonArray = try command(["network", "list", "--json"], as: NetworkCommand.List.self).output.format else {
            Issue.record("network list --json does not print the JSON array")
            return
        }
        let detach = try command(["detach", "c1"], as: DetachCommand.self)
        #expect(detach.request.network == nil)
    }

    @Test(arguments: [
        ["attach", "c1", "br0", "10.0.0.300/24"],
        ["attach", "c1", "br0", "10.0.0.5/24@nothere"],
        ["attach", "c1", "br0", "dhclient"],
        ["attach", "c1", "br0", "10.0.0.5/24", "10.0.0.6/24"],
        ["attach", "c1", "br0", "01:00:5e:00:00:01"],
        ["attach", "c1", "br0", "--mtu", "10"],
        ["attach", "c1"],
        ["network", "create", "n", "--subnet", "10.0.0.1/24"],
        ["network", "create", "n", "--subnet", "banana"],
        ["network", "create", "n", "--subnet", "10.0.0.0/24", "--gateway", "x"],
        ["network", "rm"],
        // The parser's own checks.
        ["attach", "c1", "br0", "--foo"],
        ["attach", "c1", "br0", "-x"],
        ["attach", "c1", "br0", "-i"],
        ["attach", "c1", "br0", "--mtu=abc"],
        ["attach", "c1", "br0", "--json=yes"],
        ["attach", "c1", "br0", "-i", "eth1", "-i", "eth2"],
        ["detach", "c1", "br0", "extra"],
        ["network", "inspect"],
        ["network", "create", "n", "--subnet", "10.0.0.0/24", "--ipv6=yes"],
        ["attach", "c1", "br0", "fd00::5/64", "fd00::6/64"],
        ["attach", "c1", "br0", "fd00::5/64@10.0.0.1"],
        ["attach", "c1", "br0", "10.0.0.5/24", "fd00::5/64", "dhcp"],
        ["run", "--network", "n:fd00::5/64,fd00::6/64", "--", "true"],
        ["network", "frobnicate"],
        ["frobnicate"],
        ["--root", "/tmp"],
        ["attach", "--version"],
        ["overlay", "agent", "ov", "--etcd", "http://10.0.0.9:2379", "--underlay-ip", "10.0.0.1", "--underlay-dev", "eth0"],
        ["overlay", "agent", "ov", "--etcd", "http://10.0.0.9:2379", "--ttl", "2"],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "10.60.0.0/16", "--mode", "bridge"],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "10.60.0.0/16", "--vni", "0"],
        ["overlay", "ls", "--etcd", "http://10.0.0.9:2379", "--etcd-certfile", "client.pem"],
        ["overlay", "ls", "--etcd", ","],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "fd60::/48"],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "10.60.0.0/16", "--subnet", "10.61.0.0/16"],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "10.60.0.0/16", "--host-prefix6", "64"],
        ["overlay", "create", "ov", "--etcd", "http://10.0.0.9:2379", "--subnet", "10.60.0.0/16", "--ipv6", "--host-prefix6", "129"],
    ])
    func rejectsBadArguments(_ arguments: [String]) {
        let error = #expect(throws: UsageError.self) { try SwnetCommand.parse(arguments) }
        #expect(error?.description.contains("\n") == false)
    }

    @Test func parsesOverlayCommands() throws {
        let create = try command(["overlay", "create", "ov", "--subnet", "10.60.0.0/16", "--mode", "host-gw", "--host-prefix", "26",
                                  "--etcd", "http://10.0.0.9:2379,https://10.0.0.10:2379", "--etcd-cafile", "ca.pem"],
                                 as: OverlayCommand.Create.self)
        #expect(create.configuration == OverlayConfiguration(name: "ov", subnet: IPNetwork("10.60.0.0/16")!, hostPrefix: 26, mode: .hostGateway))
        #expect(create.etcd.endpoints == ["http://10.0.0.9:2379", "https://10.0.0.10:2379"])
        #expect(create.etcd.tls.caFile == "ca.pem")
        let dual = try command(["overlay", "create", "ov", "--subnet", "fd60::/48", "--subnet", "10.60.0.0/16", "--host-prefix6", "60",
                                "--etcd", "http://10.0.0.9:2379"], as: OverlayCommand.Create.self)
        #expect(dual.configuration == OverlayConfiguration(name: "ov", subnet: IPNetwork("10.60.0.0/16")!,
                                                           subnet6: IPNetwork("fd60::/48")!, hostPrefix6: 60))
        let derived = try command(["overlay", "create", "ov", "--subnet", "10.60.0.0/16", "--ipv6", "--etcd", "http://10.0.0.9:2379"],
                                  as: OverlayCommand.Create.self)
        #expect(derived.configuration.subnet6 == OverlayConfiguration.uniqueLocalSubnet(for: "ov"))
        let agent = try command(["overlay", "agent", "ov", "--etcd", "http://10.0.0.9:2379", "--underlay-dev", "eth1",
                                 "--no-tx-csum-offload"], as: OverlayCommand.Agent.self)
        #expect(agent.options.underlayDevice == "eth1" && agent.options.ttl == 60 && !agent.options.transmitChecksumOffload)
    }

    @Test func namesTheCommandAndItsHelpInStructuralErrors() {
        let error = #expect(throws: UsageError.self) { try SwnetCommand.parse(["attach", "c1", "n1", "--foo"]) }
        #expect(error?.description == "unknown option '--foo' for 'swnet attach' (see 'swnet attach --help')")
        let subcommand = #expect(throws: UsageError.self) { try SwnetCommand.parse(["network", "frobnicate"]) }
        #expect(subcommand?.description == "unknown subcommand 'frobnicate' for 'swnet network' (see 'swnet network --help')")
    }

    @Test func helpWinsWhereverItIs() throws {
        #expect(try helpRequested(by: []) == "swnet")
        #expect(try helpRequested(by: ["network"]) == "swnet network")
        #expect(try helpRequested(by: ["attach", "-h"]) == "swnet attach")
        #expect(try helpRequested(by: ["network", "create", "--help"]) == "swnet network create")
        #expect(try helpRequested(by: ["--help", "network", "rm"]) == "swnet network rm")
        #expect(try helpRequested(by: ["attach", "c1", "--bogus", "--help"]) == "swnet attach")
        #expect(try helpRequested(by: ["help", "network", "create"]) == "swnet network create")
        #expect(try helpRequested(by: ["network", "help", "ls"]) == "swnet network ls")
    }

    @Test func printsTheVersion() throws {
        guard case .version(let version) = try SwnetCommand.parse(["--version"]) else {
            Issue.record("--version does not ask for the version")
            return
        }
        #expect(version == "0.1.0")
    }

    /// Every command's help renders: the whole tree is wired up.
    @Test func everyCommandHasHelp() {
        func walk(_ path: CommandPath) {
            let help = path.help
            #expect(help.contains("USAGE: "), "no usage for \(path.name)")
            #expect(help.contains(path.command.abstract.split(separator: " ").prefix(3).joined(separator: " ")))
            for option in path.command.options { #expect(help.contains(option.label), "\(path.name) lacks \(option.label)") }
            for subcommand in path.command.subcommands { walk(path.appending(subcommand)) }
        }
        walk(CommandPath(commands: [SwnetCommand.definition]))
    }
}

/// A tree of its own, for the grammar swnet's commands do not use yet (e.g. `ps -aq`,
/// `run -- COMMAND ARGS`).
private struct Probe: RunnableCommand {
    static let all = Option<Bool>(flag: "all", short: "a", help: "All of them.")
    static let quiet = Option<Bool>(flag: "quiet", short: "q", help: "Only IDs.")
    static let name = Option<String?>("name", short: "n", value: "NAME", help: "A name.")
    static let environment = Option<[String]>(repeatable: "env", short: "e", value: "VAR=VALUE", help: "A variable.") { $0 }
    static let count = Option<Int?>("count", value: "N", help: "How many.") { text throws(UsageError) in
        guard let count = Int(text) else { throw UsageError("invalid count '\(text)'") }
        return count
    }
    static let commandLine = Argument<[String]>(variadic: "COMMAND", help: "A command and its arguments.")

    static let definition = CommandDefinition(
        "run", abstract: "Run something.", arguments: [commandLine],
        options: [all, quiet, name, environment, count], runs: Self.self)
    static let tree = CommandDefinition(group: "tool", abstract: "A test tool.", subcommands: [definition])

    let values: ParsedValues

    init(from values: ParsedValues) { self.values = values }

    func run() {}
}

@Suite struct ParserTests {
    private func values(_ arguments: [String]) throws -> ParsedValues {
        try command(["run"] + arguments, as: Probe.self, in: Probe.tree).values
    }

    @Test func clustersShortFlags() throws {
        let values = try values(["-aq"])
        #expect(values[Probe.all])
        #expect(values[Probe.quiet])
        #expect(try !self.values(["-q"])[Probe.all])
    }

    @Test func aClusterEndsWithAnOptionThatTakesAValue() throws {
        let attached = try values(["-aqnweb"])
        #expect(attached[Probe.all] && attached[Probe.quiet])
        #expect(attached[Probe.name] == "web")
        #expect(try values(["-an", "web"])[Probe.name] == "web")
    }

    @Test func takesLongValuesAttachedOrSeparate() throws {
        #expect(try values(["--name=a=b"])[Probe.name] == "a=b")
        #expect(try values(["--name", "--looks-like-an-option"])[Probe.name] == "--looks-like-an-option")
        #expect(try values(["--count=3"])[Probe.count] == 3)
        #expect(throws: UsageError.self) { try values(["--count", "three"]) }
    }

    @Test func collectsRepeatableOptionsInOrder() throws {
        #expect(try values(["-e", "A=1", "--env=B=2", "-eC=3"])[Probe.environment] == ["A=1", "B=2", "C=3"])
        #expect(try values([])[Probe.environment] == [])
    }

    @Test func doubleDashEndsTheOptions() throws {
        let values = try values(["-a", "--", "ls", "-l", "--help", "--"])
        #expect(values[Probe.all])
        #expect(values[Probe.commandLine] == ["ls", "-l", "--help", "--"])
    }

    @Test func optionsMixWithPositionals() throws {
        let values = try values(["ls", "-q", "/tmp", "--name", "x", "-"])
        #expect(values[Probe.commandLine] == ["ls", "/tmp", "-"])
        #expect(values[Probe.quiet])
        #expect(values[Probe.name] == "x")
    }

    @Test(arguments: [["-aqz"], ["--name"], ["-n"], ["--all=yes"], ["-a", "-a"], ["--count", "1", "--count", "2"]])
    func rejectsMisusedOptions(_ arguments: [String]) {
        #expect(throws: UsageError.self) { try values(arguments) }
    }
}
