import IPAM
import JSON
import Testing
@testable import SwnetCore

@Suite struct PortSpecTests {
    static let valid: [(String, String)] = [
        ("80", "80/tcp"),
        ("8080:80", "8080:80/tcp"),
        ("8080:80/udp", "8080:80/udp"),
        ("127.0.0.1:8080:80", "127.0.0.1:8080:80/tcp"),
        ("127.0.0.1::80", "127.0.0.1::80/tcp"),
        ("[2001:db8::1]:8080:80/sctp", "[2001:db8::1]:8080:80/sctp"),
        ("[::]:8080:80", "[::]:8080:80/tcp"),
        ("[::]::80/udp", "[::]::80/udp"),
        ("[FD00:0::5]:8000-8001:80-81", "[fd00::5]:8000-8001:80-81/tcp"),
        ("0.0.0.0:8080:80", "0.0.0.0:8080:80/tcp"),
        ("8000-8010:80-90", "8000-8010:80-90/tcp"),
        ("8000-8010:80", "8000-8010:80/tcp"),
        ("80-90", "80-90/tcp"),
        ("53/UDP", "53/udp"),
    ]

    @Test(arguments: valid)
    func parsesDockerGrammar(_ text: String, _ normalized: String) throws {
        #expect(try PortSpec(parsing: text).description == normalized)
    }

    @Test func fieldsOfAFullSpec() throws {
        let spec = try PortSpec(parsing: "192.0.2.10:8080-8081:80-81/udp")
        #expect(spec.hostAddress == IPAddress("192.0.2.10"))
        #expect(spec.hostPorts == PortRange(8080, 8081))
        #expect(spec.containerPorts == PortRange(80, 81))
        #expect(spec.transport == .udp)
    }

    /// Bad IPv6 host addresses: each error line names the problem.
    static let badAddresses: [(String, String)] = [
        ("[::1:8080:80", "'[' without ']'"),
        ("[::1]8080:80", "expected [IPV6]:HOST_PORT:CONTAINER_PORT"),
        ("[fd00::zz]:8080:80", "'fd00::zz' is not an IPv6 address"),
        ("[10.0.0.1]:8080:80", "'10.0.0.1' is IPv4: only IPv6 goes in brackets"),
        ("[::]:80", "expected [IPV6]:HOST_PORT:CONTAINER_PORT (HOST_PORT may be empty)"),
        ("[::]:1:2:3", "expected [IPV6]:HOST_PORT:CONTAINER_PORT (HOST_PORT may be empty)"),
        ("fd00::1:8080:80", "too many ':' (an IPv6 host address goes in brackets: [::]:8080:80)"),
        ("fd00:1:8080", "'fd00' is not an IPv4 address (IPv6 goes in brackets)"),
        ("[::ffff:10.0.0.1]:8080:80", "'::ffff:10.0.0.1' is IPv4-mapped: give the IPv4 address"),
    ]

    @Test(arguments: badAddresses)
    func namesWhatIsWrongWithAnAddress(_ text: String, _ problem: String) {
        #expect(throws: SwnetError.invalid("invalid port spec '\(text)': \(problem)")) { try PortSpec(parsing: text) }
    }

    @Test func anIPv6SpecHasItsAddress() throws {
        let spec = try PortSpec(parsing: "[2001:db8::1]::80")
        #expect(spec.hostAddress == IPAddress("2001:db8::1"))
        #expect(spec.hostPorts == nil)
        #expect(spec.containerPorts == PortRange(80))
    }

    @Test(arguments: ["", "0", "65536", "abc", "80/icmp", "1.2.3.4:80", "x:1:2", "8000-8010:80-82", "90-80", "1:2:3:4",
                      "[::1]80:80", "[1.2.3.4]:80:80", "::1:80:80", "80-", "-80", "+80"])
    func rejectsBadSpecs(_ text: String) {
        #expect(throws: SwnetError.self) { try PortSpec(parsing: text) }
    }

    @Test func exposedPortsFromADockerfile() throws {
        let dockerfile = """
        FROM busybox
        # EXPOSE 1
        EXPOSE 80 443/tcp \\
               53/udp
        expose 8000-8002
        RUN echo EXPOSE 9
        """
        let exposed = try ExposedPorts.fromDockerfile(dockerfile).map { "\($0.ports)/\($0.transport.rawValue)" }
        #expect(exposed == ["80/tcp", "443/tcp", "53/udp", "8000-8002/tcp"])
        #expect(throws: SwnetError.self) { try ExposedPorts(parsing: "8080:80") }
    }

    @Test func exposedPortsFromAnImageConfig() throws {
        let oci: JSON = ["config": ["ExposedPorts": ["80/tcp": [:], "53/udp": [:]]]]
        #expect(try ExposedPorts.fromImageConfig(oci).map { "\($0.ports)/\($0.transport.rawValue)" } == ["53/udp", "80/tcp"])
        let inspect: JSON = [["Config": ["ExposedPorts": ["8080/tcp": [:]]]]]
        #expect(try ExposedPorts.fromImageConfig(inspect).map(\.ports) == [PortRange(8080)])
        #expect(try ExposedPorts.fromImageConfig(["config": [:]]).isEmpty)
    }
}
