import ArgumentParser
import IPAM
import Netlink
import SwnetCore
import Testing
@testable import SwnetCommands

@Suite struct CommandTests {
    @Test func parsesPipeworkStyleAttach() throws {
        let command = try #require(try SwnetCommand.parseAsRoot(
            ["attach", "c1", "br0", "10.0.0.5/24@10.0.0.254", "U:web", "-i", "eth1", "-l", "h0", "--mtu", "1400", "--json"]) as? AttachCommand)
        let request = try command.request()
        #expect(request.target == "c1")
        #expect(request.network == "br0")
        #expect(request.address == InterfaceAddress("10.0.0.5/24"))
        #expect(request.gateway == IPAddress("10.0.0.254"))
        #expect(request.mac == .derived("web"))
        #expect(request.containerInterface == "eth1")
        #expect(request.hostInterface == "h0")
        #expect(request.mtu == 1400)
        #expect(command.output.json)
    }

    @Test func acceptsAMACWithoutAnAddress() throws {
        let command = try #require(try SwnetCommand.parseAsRoot(["attach", "123", "br0", "02:00:00:00:00:01"]) as? AttachCommand)
        #expect(try command.request().mac == .fixed(MACAddress("02:00:00:00:00:01")!))
        #expect(try command.request().address == nil)
    }

    @Test(arguments: [
        ["attach", "c1", "br0", "10.0.0.300/24"],
        ["attach", "c1", "br0", "10.0.0.5/24@nothere"],
        ["attach", "c1", "br0", "dhcp"],
        ["attach", "c1", "br0", "10.0.0.5/24", "10.0.0.6/24"],
        ["attach", "c1", "br0", "01:00:5e:00:00:01"],
        ["attach", "c1", "br0", "--mtu", "10"],
        ["attach", "c1"],
        ["network", "create", "n", "--subnet", "10.0.0.1/24"],
        ["network", "create", "n", "--subnet", "banana"],
        ["network", "create", "n", "--subnet", "10.0.0.0/24", "--gateway", "x"],
        ["network", "rm"],
    ])
    func rejectsBadArguments(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try SwnetCommand.parseAsRoot(arguments) }
    }

    /// Every command's help renders: the whole tree is wired up.
    @Test func everyCommandHasHelp() {
        func walk(_ command: any ParsableCommand.Type, path: [String]) {
            let help = SwnetCommand.helpMessage(for: command)
            #expect(help.contains("USAGE"), "no usage for \(path.joined(separator: " "))")
            for sub in command.configuration.subcommands { walk(sub, path: path + [sub._commandName]) }
        }
        walk(SwnetCommand.self, path: ["swnet"])
    }
}
