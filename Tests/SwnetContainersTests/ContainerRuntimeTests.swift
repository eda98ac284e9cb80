import Foundation
import Netlink
import SwnetCore
import Testing
@testable import SwnetContainers

/// The seam between the verbs and the runtime: a `Swnet` given the runtime resolves its
/// containers' names and id prefixes as targets and its gc sweeps their records; one without
/// it knows none of them.
@Suite struct ContainerRuntimeTests {
    final class StateRoot {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-runtime-\(UUID().uuidString)").path
        var location: StateLocation { StateLocation.resolve(root: path) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A record as `swnet run` writes it; `pid` nil for one that never ran.
    func record(_ id: String, name: String, status: Container.Status, pid: Int32? = nil, owner: Int32? = nil,
                autoRemove: Bool = false) -> Container {
        Container(id: id, name: name, command: ["sleep", "60"], hostname: name, rootfs: nil, pid: pid,
                  pidStartTime: pid.flatMap(ProcessTable.startTime(of:)), owner: owner,
                  ownerStartTime: owner.flatMap(ProcessTable.startTime(of:)), namespaceID: nil, networks: [],
                  capabilities: [], autoRemove: autoRemove, detached: true, status: status, exitCode: nil, created: 1,
                  started: nil, finished: nil)
    }

    func insert(_ containers: [Container], into swnet: Swnet) throws {
        try swnet.store.write { state in
            for container in containers { try state.insert(container) }
        }
    }

    @Test func namesAndIdPrefixesResolveOnlyThroughTheRuntime() throws {
        let root = StateRoot()
        let swnet = Swnet(location: root.location, containers: ContainerRuntime())
        // This test process stands in for a running container's init: its namespace is the target.
        try insert([record("abc123" + String(repeating: "0", count: 58), name: "web", status: .running, pid: getpid()),
                    record("abc456" + String(repeating: "0", count: 58), name: "db", status: .exited)], into: swnet)

        let byName = try swnet.resolveTarget("web")
        #expect(byName.label == "container web")
        #expect(byName.namespaceID == (try NetworkNamespace(path: "/proc/self/ns/net")).identity)
        #expect(try swnet.resolveTarget("container:abc123").label == "container web")
        #expect(throws: SwnetError.containerNotRunning("db")) { try swnet.resolveTarget("db") }
        #expect(throws: SwnetError.noSuchContainer("nope")) { try swnet.resolveTarget("container:nope") }
        let ambiguous = #expect(throws: SwnetError.self) { try swnet.resolveTarget("abc") }
        #expect(ambiguous?.message.contains("ambiguous") == true)
        // A pid or a path is never taken for a container, whatever their names.
        #expect(try swnet.resolveTarget("\(getpid())").label == "pid \(getpid())")

        let verbsAlone = Swnet(location: root.location)
        #expect(throws: SwnetError.noSuchContainer("web")) { try verbsAlone.resolveTarget("container:web") }
    }

    @Test(.enabled(if: getuid() == 0, "gc needs CAP_NET_ADMIN"))
    func gcSweepsContainerRecordsOnlyWithTheRuntime() throws {
        let root = StateRoot()
        let host = try NetworkNamespace.create()
        let swnet = Swnet(location: root.location, hostNamespace: host, containers: ContainerRuntime())
        // Inits and an owner that live when recorded and die unrecorded, as after a SIGKILL.
        let processes = try (0..<3).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["60"]
            try process.run()
            return process
        }
        let pids = processes.map(\.processIdentifier)
        try insert([record("a1", name: "crashed", status: .running, pid: pids[0]),
                    record("a2", name: "temporary", status: .running, pid: pids[1], autoRemove: true),
                    record("a3", name: "half-started", status: .created, owner: pids[2]),
                    record("a4", name: "alive", status: .running, pid: getpid())], into: swnet)
        for process in processes {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        let verbsAlone = Swnet(location: root.location, hostNamespace: host)
        let untouched = try verbsAlone.collectGarbage()
        #expect(untouched.removedContainers.isEmpty && untouched.exitedContainers.isEmpty)
        #expect(try swnet.listContainers(all: true).count == 4)

        let report = try swnet.collectGarbage()
        #expect(report.exitedContainers == ["crashed"])
        #expect(report.removedContainers.sorted() == ["half-started", "temporary"])
        let left = try swnet.listContainers(all: true)
        #expect(left.map(\.name).sorted() == ["alive", "crashed"])
        #expect(left.first { $0.name == "crashed" }?.status == .exited)
        #expect(left.first { $0.name == "alive" }?.currentStatus == .running)
    }
}
