import IPAM
import Netlink
import SwnetCore
import Testing
@testable import SwnetCommands

@Suite struct PipeworkCommandTests {
    private func attach(_ arguments: [String]) throws -> AttachRequest {
        guard case .run(let command) = try SwnetCommand.parse(["attach"] + arguments) else { throw UsageError("no command") }
        return try #require(command as? AttachCommand).request
    }

    @Test func parsesDHCPVLANAndHostInterfaceModes() throws {
        let dhcp = try attach(["c1", "lan", "dhcp:-x hostname:web -V swnet", "U:web@10", "--rate", "10mbit/64kb"])
        #expect(dhcp.dhcp == DHCPRequest(clientArguments: ["-x", "hostname:web", "-V", "swnet"]))
        #expect(dhcp.addresses.isEmpty)
        #expect(dhcp.mac == .derived("web"))
        #expect(dhcp.vlan == 10)
        #expect(dhcp.rate == RateLimit(bitsPerSecond: 10_000_000, burstBytes: 64 * 1024))
        #expect(try attach(["c1", "eth0", "udhcpc"]).dhcp == DHCPRequest())

        let macvlan = try attach(["c1", "eth0", "10.0.0.5/24@10.0.0.1", "@7", "--macvlan-mode", "private"])
        #expect(macvlan.hostInterfaceMode == .macvlan(.private))
        #expect(macvlan.vlan == 7 && macvlan.gateways == [IPAddress("10.0.0.1")!])
        #expect(try attach(["c1", "eth0", "10.0.0.5/24", "--direct"]).hostInterfaceMode == .direct)
        #expect(try attach(["c1", "br0", "10.0.0.5/24"]).hostInterfaceMode == nil)
    }

    @Test func rejectsWhatPipeworkGrammarCannotMean() {
        for arguments in [
            ["c1", "lan", "dhcp", "10.0.0.5/24"], ["c1", "lan", "dhclient"], ["c1", "lan", "dhcpcd:-4"],
            ["c1", "eth0", "10.0.0.5/24", "@0"], ["c1", "eth0", "10.0.0.5/24", "@4095"], ["c1", "eth0", "@1", "@2"],
            ["c1", "eth0", "10.0.0.5/24", "--direct", "--macvlan-mode", "bridge"],
            ["c1", "eth0", "10.0.0.5/24", "--macvlan-mode", "source"], ["c1", "n1", "--rate", "fast"],
            ["c1", "n1", "--rate", "10mbit/"], ["c1", "n1", "--rate", "1bit"],
        ] {
            #expect(throws: UsageError.self, "\(arguments)") { try attach(arguments) }
        }
    }

    @Test func namespaceToolsAndWait() throws {
        guard case .run(let route) = try SwnetCommand.parse(["route", "c1", "--", "-6", "add", "default", "via", "fd00::1"]) else {
            Issue.record("route did not parse")
            return
        }
        let invocation = try #require(route as? RouteCommand).invocation
        #expect(invocation.target == "c1")
        #expect(NamespaceTool.route.commandLine(invocation.arguments) == ["-6", "route", "add", "default", "via", "fd00::1"])
        #expect(NamespaceTool.tc.commandLine(["qdisc", "show"]) == ["qdisc", "show"])
        #expect(throws: UsageError.self) { try SwnetCommand.parse(["tc", "c1"]) }

        guard case .run(let wait) = try SwnetCommand.parse(["wait", "-i", "lan0", "--timeout", "2.5"]) else {
            Issue.record("wait did not parse")
            return
        }
        let command = try #require(wait as? WaitCommand)
        #expect(command.interface == "lan0" && command.timeout == 2.5)
        #expect(throws: UsageError.self) { try SwnetCommand.parse(["wait", "--timeout", "-1"]) }
    }
}
