import IPAM
import JSON
import Testing
@testable import SwnetCNI

/// What runs without root: the shapes of results per version, reading other plugins' results,
/// configuration and environment parsing with their error codes.
@Suite struct SpecTests {
    static func sampleResult() -> CNIResult {
        var result = CNIResult()
        result.interfaces = [.init(name: "br0", mac: "02:00:00:00:00:01", mtu: 1500, sandbox: nil),
                             .init(name: "eth0", mac: "02:00:00:00:00:02", mtu: 1400, sandbox: "/run/netns/c1")]
        result.ips = [.init(address: InterfaceAddress("10.1.0.2/24")!, gateway: IPAddress("10.1.0.1"), interface: 1)]
        result.routes = [.init(destination: IPNetwork("0.0.0.0/0")!, gateway: IPAddress("10.1.0.1"))]
        return result
    }

    @Test(arguments: [("0.3.0", true, false), ("0.3.1", true, false), ("0.4.0", true, false),
                      ("1.0.0", false, false), ("1.1.0", false, true)])
    func resultShapePerVersion(_ version: String, _ namesFamily: Bool, _ hasMTU: Bool) {
        let json = Self.sampleResult().json(version: version)
        #expect(json["cniVersion"]?.string == version)
        #expect((json["ips"]?[0]?["version"]?.string == "4") == namesFamily)
        #expect((json["interfaces"]?[1]?["mtu"]?.int == 1400) == hasMTU)
        #expect(json["ips"]?[0]?["interface"]?.int == 1)
        #expect(json["routes"]?[0]?["dst"]?.string == "0.0.0.0/0")
        #expect(json["interfaces"]?[0]?["sandbox"] == nil)
    }

    @Test(arguments: CNIVersion.supported)
    func resultsReadBackInEveryVersion(_ version: String) throws {
        let text = Self.sampleResult().json(version: version).serialized()
        let read = try CNIResult(parsing: try JSON(parsing: text), what: "test")
        #expect(read.ips.first?.address == InterfaceAddress("10.1.0.2/24"))
        #expect(read.interfaces.map(\.sandbox) == [nil, "/run/netns/c1"])
    }

    @Test func anIPOfAnInterfaceNotListedIsRefused() throws {
        let json = try JSON(parsing: #"{"interfaces": [], "ips": [{"address": "10.0.0.2/24", "interface": 3}]}"#)
        #expect(throws: CNIError.self) { try CNIResult(parsing: json, what: "prevResult") }
    }

    @Test(arguments: [("abc", true), ("a1_b.c-d", true), ("-abc", false), ("", false), ("a b", false), ("ä", false)])
    func containerIDs(_ id: String, _ valid: Bool) {
        #expect(CNIEnvironment.isValidContainerID(id) == valid)
    }

    @Test func cniArguments() throws {
        #expect(try CNIEnvironment.parseArguments("IgnoreUnknown=1;IP=10.0.0.5;K8S_POD_NAME=a=b")
            == ["IgnoreUnknown": "1", "IP": "10.0.0.5", "K8S_POD_NAME": "a=b"])
        #expect(throws: CNIError.self) { try CNIEnvironment.parseArguments("novalue") }
    }

    static func configuration(_ text: String) throws(CNIError) -> NetworkConfiguration {
        try NetworkConfiguration(NetworkConfiguration.parse(Array(text.utf8)), arguments: [:])
    }

    @Test func configurationWithCapabilities() throws {
        let configuration = try Self.configuration(#"""
            {"cniVersion": "1.1.0", "name": "web", "type": "swnet-cni", "ranges": [[{"subnet": "10.5.0.0/24", "gateway": "10.5.0.254"}]],
             "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "udp", "hostIP": "127.0.0.1"}],
                               "ips": ["10.5.0.9/24"], "mac": "02:11:22:33:44:55"}}
            """#)
        #expect(configuration.network.subnets == [IPNetwork("10.5.0.0/24")!])
        #expect(configuration.network.gateways == [IPAddress("10.5.0.254")!])
        #expect(configuration.ports.map(\.description) == ["127.0.0.1:8080:80/udp"])
        #expect(configuration.requestedAddresses == ["10.5.0.9/24"])
        #expect(configuration.mac?.description == "02:11:22:33:44:55")
    }

    @Test func dualStackRangeSetsAndIPv6Mappings() throws {
        let configuration = try Self.configuration(#"""
            {"cniVersion": "1.0.0", "name": "web", "type": "swnet-cni",
             "ipam": {"type": "swnet-cni", "ranges": [[{"subnet": "fd00:5::/64", "gateway": "fd00:5::1"}], [{"subnet": "10.5.0.0/24"}]]},
             "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80},
                                                {"hostPort": 8081, "containerPort": 80, "hostIP": "::"},
                                                {"hostPort": 8082, "containerPort": 80, "hostIP": "2001:db8::1"},
                                                {"hostPort": 8083, "containerPort": 80, "hostIP": "::1"}],
                               "ips": ["10.5.0.9", "fd00:5::9"]}}
            """#)
        #expect(configuration.network.subnets == [IPNetwork("10.5.0.0/24")!, IPNetwork("fd00:5::/64")!])
        #expect(configuration.network.gateways == [IPAddress("fd00:5::1")!])
        #expect(configuration.ports.map(\.description) == ["8080:80/tcp", "[::]:8081:80/tcp", "[2001:db8::1]:8082:80/tcp", "[::1]:8083:80/tcp"])
        #expect(configuration.requestedAddresses == ["10.5.0.9", "fd00:5::9"])
        #expect(throws: CNIError.self) {
            try Self.configuration(#"{"cniVersion": "1.0.0", "name": "x", "runtimeConfig": {"portMappings": [{"hostPort": 1, "containerPort": 80, "hostIP": "::ffff:192.0.2.1"}]}}"#)
        }
    }

    @Test(arguments: [
        (#"{"cniVersion": "1.0.0""#, CNIError.Code.decodingFailure),
        (#"{"name": "x"}"#, .invalidConfiguration),
        (#"{"cniVersion": "0.2.0", "name": "x"}"#, .incompatibleVersion),
        (#"{"cniVersion": "1.0.0", "name": "x", "subnet": "10.0.0.0/33"}"#, .invalidConfiguration),
        (#"{"cniVersion": "1.0.0", "name": "x", "subnets": 1, "ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.1.0.0/24"}]]}"#, .unsupportedField),
        (#"{"cniVersion": "1.0.0", "name": "x", "ranges": [[{"subnet": "fd00:1::/64"}], [{"subnet": "fd00:2::/64"}]]}"#, .unsupportedField),
        (#"{"cniVersion": "1.0.0", "name": "x", "isGateway": false}"#, .unsupportedField),
        (#"{"cniVersion": "1.0.0", "name": "x", "runtimeConfig": {"portMappings": [{"hostPort": 0, "containerPort": 80}]}}"#, .invalidConfiguration),
        (#"{"cniVersion": "1.0.0", "name": "bad name"}"#, .invalidConfiguration),
    ])
    func invalidConfigurations(_ text: String, _ code: CNIError.Code) {
        #expect { try Self.configuration(text) } throws: { ($0 as? CNIError)?.code == code }
    }
}
