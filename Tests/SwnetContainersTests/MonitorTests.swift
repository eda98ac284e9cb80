import IPAM
import JSON
import Testing
import SwnetCore
@testable import SwnetContainers

/// What `swnet run -d` sends its monitor survives the trip through JSON text.
@Suite struct MonitorTests {
    @Test func detachedStartRoundTrips() throws {
        let spec = ContainerSpec(command: ["sh", "-c", "echo \"hi\"\n"], environment: ["A=1", "PATH=/bin"], hostname: "box",
                                 rootfs: "/srv/root", workdir: "/tmp", userNamespace: true,
                                 capabilities: CapabilitySet(mask: 1 << 63 | 1 << 12))
        let start = DetachedStart(
            location: StateLocation(lib: "/x/lib", run: "/x/run"), containerID: String(repeating: "ab", count: 32), spec: spec,
            networks: [.init(network: "web"), .init(network: "db", addresses: [InterfaceAddress("10.1.0.5/24")!, InterfaceAddress("fd00:1::5/64")!])],
            publish: [try PortSpec(parsing: "127.0.0.1::9000/udp"), try PortSpec(parsing: "8080-8081:80-81")])
        let line = start.json.serialized()
        #expect(!line.contains("\n"), "one line a message")
        let back = try DetachedStart(json: JSON(parsing: line))
        #expect(back.location == start.location)
        #expect(back.containerID == start.containerID)
        #expect(back.networks == start.networks)
        #expect(back.publish == start.publish)
        #expect(back.spec.command == spec.command)
        #expect(back.spec.environment == spec.environment)
        #expect([back.spec.hostname, back.spec.rootfs, back.spec.workdir] == ["box", "/srv/root", "/tmp"])
        #expect(back.spec.userNamespace)
        #expect(back.spec.capabilities == spec.capabilities)
    }

    @Test func aDamagedStartIsRefused() {
        #expect(throws: SwnetError.self) { try DetachedStart(json: ["id": "x"]) }
    }
}
