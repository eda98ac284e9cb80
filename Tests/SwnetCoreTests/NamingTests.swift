import Netlink
import Testing
@testable import SwnetCore

@Suite struct NamingTests {
    @Test(arguments: ["eth0", "a", "fifteen-bytes-x", "br_0.1"])
    func acceptsValidInterfaceNames(_ name: String) throws {
        try InterfaceNames.validate(name, role: "interface")
    }

    @Test(arguments: ["", "sixteen-bytes-xx", "a/b", "a b", "a:b", ".", "..", "tab\there"])
    func rejectsInvalidInterfaceNames(_ name: String) {
        #expect(throws: SwnetError.self) { try InterfaceNames.validate(name, role: "interface") }
    }

    @Test func hostSideNamesAreDeterministicShortAndDistinct() {
        let namespace = NamespaceIdentity(device: 4, inode: 4026532281)
        let name = InterfaceNames.hostSide(namespaceID: namespace, network: "br0")
        // The name of a veth made before: it must stay the same for detach and gc to find it.
        #expect(name == "sw97e1d4fbbe")
        #expect(name != InterfaceNames.hostSide(namespaceID: NamespaceIdentity(device: 4, inode: 4026532282), network: "br0"))
        #expect(name != InterfaceNames.hostSide(namespaceID: namespace, network: "br1"))
        #expect(name.utf8.count <= InterfaceNames.maximumLength)
    }

    @Test func stableMACsAreLocallyAdministeredUnicastAndStable() {
        let mac = InterfaceNames.stableMAC(seed: "web-1")
        #expect(mac == InterfaceNames.stableMAC(seed: "web-1"))
        #expect(mac != InterfaceNames.stableMAC(seed: "web-2"))
        #expect(mac.bytes[0] == 0x02)
    }

    @Test func networkNames() {
        #expect(throws: Never.self) { try NetworkRules.checkName("net-1.a_b") }
        for bad in ["", "-x", ".x", "a/b", "a b", String(repeating: "n", count: 65)] {
            #expect(throws: SwnetError.self) { try NetworkRules.checkName(bad) }
        }
        #expect(NetworkRules.defaultBridgeName(for: "short") == "short")
        #expect(NetworkRules.defaultBridgeName(for: "a-network-with-a-long-name").utf8.count <= 15)
    }

    @Test func stateLocationFollowsRoot() {
        #expect(StateLocation.resolve(root: "/tmp/x") == StateLocation(lib: "/tmp/x/lib", run: "/tmp/x/run"))
    }
}
