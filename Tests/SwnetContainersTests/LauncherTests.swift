import Foundation
import Netlink
import Testing
import SwnetCore
@testable import SwnetContainers

/// A container under test. Its stdout and stderr go to a file; however the test ends, the
/// container is killed and reaped.
private final class TestContainer {
    let process: ContainerProcess
    private let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-launcher-\(UUID().uuidString)").path

    init(_ command: [String], hostname: String = "box", rootfs: String? = nil, userNamespace: Bool = false,
         capabilities: CapabilitySet = .dockerDefault) throws {
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SystemError("create \(outputPath)") }
        defer { close(output) }  // the init holds its own copy from here on
        process = try ContainerProcess.create(ContainerSpec(
            command: command, hostname: hostname, rootfs: rootfs, userNamespace: userNamespace,
            capabilities: capabilities, standardInput: -1, standardOutput: output, standardError: output))
    }

    deinit {
        process.signal(SIGKILL)
        _ = process.wait()
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Releases the container and waits for its command.
    func run() throws -> (status: Int32, output: String) {
        try process.release()
        let status = process.wait()
        return (status, output)
    }

    /// Polls the output until it contains `text`: the command got that far.
    func waitForOutput(_ text: String) -> Bool {
        for _ in 0..<500 {
            if output.contains(text) { return true }
            usleep(10_000)
        }
        return false
    }
}

private func shell(_ script: String) -> [String] { ["sh", "-c", script] }

private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

/// A value of /proc/<pid>/status, such as "CapEff".
private func statusField(_ name: String, in status: String) -> String? {
    lines(status).first { $0.hasPrefix("\(name):") }?.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
}

private func hexMask(_ set: CapabilitySet) -> String {
    let digits = String(set.mask, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// A throwaway root filesystem: busybox-static with a few applets, readable by anyone (as a
/// user namespace's root is, to the host) and with /dev, /proc and /sys already there.
private final class BusyboxRootfs {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-rootfs-\(UUID().uuidString)").path

    init() throws {
        let files = FileManager.default
        for directory in ["bin", "dev", "proc", "sys", "tmp"] {
            try files.createDirectory(atPath: "\(path)/\(directory)", withIntermediateDirectories: true)
        }
        try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        try files.copyItem(atPath: "/bin/busybox", toPath: "\(path)/bin/busybox")
        for applet in ["sh", "ls", "cat", "echo", "grep", "hostname", "id", "test", "sleep"] {
            try files.createSymbolicLink(atPath: "\(path)/bin/\(applet)", withDestinationPath: "busybox")
        }
        _ = files.createFile(atPath: "\(path)/marker", contents: Data())
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

private let hasBusybox = FileManager.default.fileExists(atPath: "/bin/busybox")

@Suite("Container launcher", .enabled(if: getuid() == 0, "needs root to create namespaces"))
struct LauncherTests {
    private static let commandsAndStatuses: [([String], Int32)] = [
        (["/bin/true"], 0),
        (shell("exit 3"), 3),
        (shell("kill -TERM $$"), 143),
    ]

    @Test(arguments: commandsAndStatuses)
    func exitStatusIsTheCommands(command: [String], expected: Int32) throws {
        let container = try TestContainer(command)
        #expect(try container.run().status == expected)
    }

    @Test func commandRunsUnderInitInItsOwnPidNamespace() throws {
        let container = try TestContainer(shell("echo $$; cat /proc/1/comm; ls /proc"))
        let (status, output) = try container.run()
        #expect(status == 0)
        let printed = lines(output)
        #expect(printed.prefix(2) == ["2", "swnet-init"])
        // Only the init, the shell and ls: none of the host's processes.
        let pids = printed.dropFirst(2).compactMap { Int($0) }
        #expect(pids.contains(1) && pids.allSatisfy { $0 < 10 }, "pids seen: \(pids)")
    }

    @Test func commandGetsOnlyItsStdio() throws {
        // The test process has plenty of descriptors open; ls adds one for the directory.
        let container = try TestContainer(["ls", "/proc/self/fd"])
        let (status, output) = try container.run()
        #expect(status == 0)
        #expect(Set(lines(output)).isSubset(of: ["0", "1", "2", "3"]), "\(output)")
    }

    @Test func setsHostnameAndBringsUpLoopback() throws {
        let container = try TestContainer(shell("hostname; ip -o link show lo"), hostname: "launcher-test")
        let (status, output) = try container.run()
        #expect(status == 0)
        let printed = lines(output)
        #expect(printed.first == "launcher-test")
        #expect(printed.dropFirst().first?.contains(",UP") == true, "\(output)")
    }

    @Test(arguments: [
        CapabilitySet.dockerDefault,
        try! CapabilitySet.dockerDefault.removing(["NET_RAW"]),
        try! CapabilitySet.dockerDefault.adding(["cap_net_admin"]),
    ])
    func commandHasExactlyTheCapabilitySetAndNoNewPrivs(capabilities: CapabilitySet) throws {
        let container = try TestContainer(["cat", "/proc/self/status"], capabilities: capabilities)
        let (status, output) = try container.run()
        #expect(status == 0)
        for field in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
            #expect(statusField(field, in: output) == hexMask(capabilities), "\(field)")
        }
        #expect(statusField("CapAmb", in: output) == hexMask(CapabilitySet(mask: 0)))
        #expect(statusField("NoNewPrivs", in: output) == "1")
    }

    @Test func commandWaitsForRelease() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-ran-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let container = try TestContainer(shell("echo ran > \(marker)"))
        usleep(300_000)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try container.run().status == 0)
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test func initDiesWithTheThreadThatCreatedIt() throws {
        final class Started: @unchecked Sendable { var process: ContainerProcess? }
        let started = Started()
        let created = DispatchSemaphore(value: 0)
        Thread {
            started.process = try? ContainerProcess.create(ContainerSpec(
                command: ["sleep", "30"], hostname: "box", standardInput: -1, diesWithCaller: true))
            try? started.process?.release()
            created.signal()
        }.start()
        created.wait()
        let process = try #require(started.process)
        // The thread ends after its block: the kernel's parent-death signal kills the init,
        // long before the command's 30 seconds.
        #expect(process.wait() == 128 + SIGKILL)
    }

    @Test func linkAddedBeforeReleaseIsThereFromTheFirstInstruction() throws {
        let container = try TestContainer(["ip", "-o", "link", "show", "gate0"])
        let inside = try NetlinkHandle(namespace: NetworkNamespace(processID: container.process.pid))
        try inside.addLink(LinkSpec(name: "gate0", kind: .bridge()))
        let (status, output) = try container.run()
        #expect(status == 0)
        #expect(output.contains("gate0"), "\(output)")
    }

    @Test func missingCommandFailsBeforeCloning() {
        do {
            _ = try ContainerProcess.create(ContainerSpec(command: ["no-such-command-here"], hostname: "box"))
            Issue.record("create should have failed")
        } catch {
            #expect(error.message == "command 'no-such-command-here' not found")
            #expect(error.exitStatus == 127)
        }
    }

    @Test func execFailureInsideIsReportedByRelease() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-not-executable-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: script, contents: Data("echo hi\n".utf8), attributes: [.posixPermissions: 0o644])
        defer { try? FileManager.default.removeItem(atPath: script) }
        let container = try TestContainer([script])
        do {
            try container.process.release()
            Issue.record("release should have failed")
        } catch {
            #expect(error.message == "exec \(script): Permission denied")
            #expect(error.exitStatus == 126)
        }
        #expect(container.process.wait() == 126)
    }

    @Test func initForwardsSignalsToTheCommand() throws {
        let container = try TestContainer(shell("trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done"))
        try container.process.release()
        #expect(container.waitForOutput("ready"))
        container.process.signal(SIGTERM)
        #expect(container.process.wait() == 42)
    }

    @Test func initReapsOrphans() throws {
        // The subshell exits at once, so its `sleep` is orphaned to the init, which must reap it.
        let container = try TestContainer(shell("(sleep 0.1 &); sleep 0.6; cat /proc/[0-9]*/stat"))
        let (status, output) = try container.run()
        #expect(status == 0)
        let states = lines(output).map { $0.split(separator: ")").last?.split(separator: " ").first ?? "?" }
        #expect(!states.contains("Z"), "\(output)")
    }

    @Test(.enabled(if: hasBusybox, "needs busybox-static"))
    func pivotsIntoRootfsWithMinimalDevProcAndReadOnlySys() throws {
        let rootfs = try BusyboxRootfs()
        let container = try TestContainer(shell("""
            ls /; test -c /dev/null && echo > /dev/null && echo null-ok
            grep ' /sys ' /proc/mounts; cat /proc/1/comm; ls /dev
            """), rootfs: rootfs.path)
        let (status, output) = try container.run()
        #expect(status == 0, "\(output)")
        let printed = lines(output)
        #expect(Array(printed.prefix(7)) == ["bin", "dev", "marker", "proc", "sys", "tmp", "null-ok"])
        #expect(printed.contains { $0.hasPrefix("sysfs /sys sysfs ro,") }, "\(output)")
        #expect(printed.contains("swnet-init"))
        for device in ["null", "zero", "full", "random", "urandom", "tty", "shm", "fd"] {
            #expect(printed.contains(device), "/dev/\(device)")
        }
    }

    @Test(.enabled(if: hasBusybox, "needs busybox-static"))
    func rootfsMustExistAndHoldTheCommand() throws {
        let rootfs = try BusyboxRootfs()
        #expect(throws: LaunchError.self) { try ContainerProcess.validate(ContainerSpec(command: ["sh"], hostname: "b", rootfs: "/nonexistent")) }
        do {
            try ContainerProcess.validate(ContainerSpec(command: ["bash"], hostname: "b", rootfs: rootfs.path))
            Issue.record("bash is not in the rootfs")
        } catch {
            #expect(error.message == "command 'bash' not found in rootfs \(rootfs.path)")
        }
        try ContainerProcess.validate(ContainerSpec(command: ["/bin/sh"], hostname: "b", rootfs: rootfs.path))
    }

    @Test(.enabled(if: hasBusybox, "needs busybox-static"))
    func userNamespaceMapsContainerRootToHost100000() throws {
        let rootfs = try BusyboxRootfs()
        let container = try TestContainer(shell("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -G; test -c /dev/null && echo null-ok"),
                                          rootfs: rootfs.path, userNamespace: true)
        let (status, output) = try container.run()
        #expect(status == 0, "\(output)")
        let printed = lines(output).map { $0.split(separator: " ").joined(separator: " ") }
        #expect(printed == ["0 100000 65536", "0 100000 65536", "0", "0", "null-ok"])
    }

    @Test func execJoinsTheContainer() throws {
        let container = try TestContainer(["sleep", "30"], hostname: "exec-target")
        try container.process.release()
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-exec-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let status = try ContainerProcess.exec(intoProcess: container.process.pid,
                                               command: shell("{ echo $$; hostname; cat /proc/1/comm; ip -o link show lo; } > \(report)"),
                                               environment: [], workdir: nil, capabilities: .dockerDefault)
        #expect(status == 0)
        let printed = lines((try? String(contentsOfFile: report, encoding: .utf8)) ?? "")
        #expect(printed.count == 4, "\(printed)")
        #expect((Int(printed.first ?? "") ?? 99) < 10, "pid inside: \(printed.first ?? "")")
        #expect(Array(printed.dropFirst().prefix(2)) == ["exec-target", "swnet-init"])
        #expect(printed.last?.contains(",UP") == true)

        let exitStatus = try ContainerProcess.exec(intoProcess: container.process.pid, command: shell("exit 5"),
                                                   environment: [], workdir: nil, capabilities: .dockerDefault)
        #expect(exitStatus == 5)
        do {
            _ = try ContainerProcess.exec(intoProcess: container.process.pid, command: ["no-such-command-here"],
                                          environment: [], workdir: nil, capabilities: .dockerDefault)
            Issue.record("exec should have failed")
        } catch {
            #expect(error.message == "exec no-such-command-here: No such file or directory")
            #expect(error.exitStatus == 127)
        }
    }

    @Test(.enabled(if: hasBusybox, "needs busybox-static"))
    func execEntersTheContainersRoot() throws {
        let rootfs = try BusyboxRootfs()
        let container = try TestContainer(["sleep", "30"], rootfs: rootfs.path)
        try container.process.release()
        let status = try ContainerProcess.exec(intoProcess: container.process.pid, command: shell("ls / > /tmp/seen"),
                                               environment: [], workdir: "/tmp", capabilities: .dockerDefault)
        #expect(status == 0)
        let seen = try String(contentsOfFile: "\(rootfs.path)/tmp/seen", encoding: .utf8)
        #expect(lines(seen) == ["bin", "dev", "marker", "proc", "sys", "tmp"])
    }

    @Test func execJoinsAUserNamespaceAsItsRoot() throws {
        let container = try TestContainer(["sleep", "30"], userNamespace: true)
        try container.process.release()
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("swnet-exec-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let status = try ContainerProcess.exec(intoProcess: container.process.pid,
                                               command: shell("echo $(id -u) $(id -G) $(cat /proc/self/uid_map) > \(report)"),
                                               environment: [], workdir: nil, capabilities: .dockerDefault)
        #expect(status == 0)
        #expect((try? String(contentsOfFile: report, encoding: .utf8)) == "0 0 0 100000 65536\n")
    }
}

/// Needs no root; the name keeps it in `--filter LauncherTests`.
struct CapabilitySetLauncherTests {
    @Test func capabilityNames() throws {
        #expect(try CapabilitySet(names: ["net_admin", "CAP_NET_RAW"]).names == ["CAP_NET_ADMIN", "CAP_NET_RAW"])
        #expect(try CapabilitySet(names: CapabilitySet.dockerDefault.names) == .dockerDefault)
        #expect(try CapabilitySet.dockerDefault.adding(["ALL"]) == .all)
        #expect(try CapabilitySet.all.removing(["all"]) == CapabilitySet(mask: 0))
        #expect(throws: SwnetError.self) { try CapabilitySet(names: ["12"]) }
        do {
            _ = try CapabilitySet(names: ["NET_NOPE"])
            Issue.record("NET_NOPE should be unknown")
        } catch {
            #expect(error.message == "unknown capability 'NET_NOPE'")
        }
    }
}
