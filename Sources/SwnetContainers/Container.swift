#if canImport(Glibc)
import Glibc
#endif
import JSON
import Netlink
import SwnetCore

/// A container swnet launched: runtime state, gone after a reboot like its process.
public struct Container: Sendable, Equatable {
    public enum Status: String, Sendable { case created, running, exited }

    public var id: String
    public var name: String
    public var command: [String]
    public var hostname: String
    public var rootfs: String?
    /// The init's pid in swnet's PID namespace, and its start time: a reused pid never passes
    /// for the container.
    public var pid: Int32?
    public var pidStartTime: UInt64?
    /// The swnet process that starts and watches it (the foreground `swnet run`, or the monitor
    /// of a detached one), with its start time: gc cleans a start that died part-way.
    public var owner: Int32?
    public var ownerStartTime: UInt64?
    /// Identity of its network namespace, the key of its attachments.
    public var namespaceID: NamespaceIdentity?
    public var networks: [String]
    public var capabilities: [String]
    public var autoRemove: Bool
    public var detached: Bool
    public var status: Status
    public var exitCode: Int32?
    public var created: Int64
    public var started: Int64?
    public var finished: Int64?

    public var shortID: String { String(id.prefix(12)) }

    /// Whether its init still runs: the pid exists and started when the container's did.
    public var isRunning: Bool { status == .running && initIsAlive }

    /// Whether its init is there, whatever the record says: released, or still at its gate.
    var initIsAlive: Bool {
        guard let pid, let pidStartTime else { return false }
        return ProcessTable.startTime(of: pid) == pidStartTime
    }

    /// SIGKILL to its init, if it is there (never to a process that reused the pid).
    func killInit() {
        if initIsAlive, let pid { Glibc.kill(pid, SIGKILL) }
    }

    var ownerIsAlive: Bool {
        guard let owner, let ownerStartTime else { return false }
        return ProcessTable.startTime(of: owner) == ownerStartTime
    }

    /// The status as it is now: a container whose init died without anyone recording it
    /// (killed with SIGKILL, its monitor gone) shows as exited.
    public var currentStatus: Status {
        status == .running && !isRunning ? .exited : status
    }
}

extension Container: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "id": .string(id),
            "name": .string(name),
            "command": .array(command.map { .string($0) }),
            "hostname": .string(hostname),
            "networks": .array(networks.map { .string($0) }),
            "capabilities": .array(capabilities.map { .string($0) }),
            "autoRemove": .bool(autoRemove),
            "detached": .bool(detached),
            "status": .string(currentStatus.rawValue),
            "created": .int(created),
        ]
        object["rootfs"] = rootfs.map { .string($0) } ?? .null
        object["pid"] = pid.map { .int(Int64($0)) } ?? .null
        object["pidStartTime"] = pidStartTime.map { .int(Int64(bitPattern: $0)) } ?? .null
        object["namespace"] = namespaceID.map { .string($0.description) } ?? .null
        object["owner"] = owner.map { .int(Int64($0)) } ?? .null
        object["ownerStartTime"] = ownerStartTime.map { .int(Int64(bitPattern: $0)) } ?? .null
        object["exitCode"] = exitCode.map { .int(Int64($0)) } ?? .null
        object["started"] = started.map { .int($0) } ?? .null
        object["finished"] = finished.map { .int($0) } ?? .null
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let id = json["id"]?.string, let name = json["name"]?.string,
              let command = json["command"]?.array?.compactMap(\.string),
              let status = json["status"]?.string.flatMap(Status.init(rawValue:))
        else { throw SwnetError.damagedRecord("container") }
        self.id = id
        self.name = name
        self.command = command
        self.status = status
        hostname = json["hostname"]?.string ?? String(id.prefix(12))
        rootfs = json["rootfs"]?.string
        pid = json["pid"]?.int.map { Int32(clamping: $0) }
        pidStartTime = json["pidStartTime"]?.int.map { UInt64(bitPattern: $0) }
        namespaceID = json["namespace"]?.string.flatMap(NamespaceIdentity.init)
        owner = json["owner"]?.int.map { Int32(clamping: $0) }
        ownerStartTime = json["ownerStartTime"]?.int.map { UInt64(bitPattern: $0) }
        networks = json["networks"]?.array?.compactMap(\.string) ?? []
        capabilities = json["capabilities"]?.array?.compactMap(\.string) ?? []
        autoRemove = json["autoRemove"]?.bool ?? false
        detached = json["detached"]?.bool ?? false
        exitCode = json["exitCode"]?.int.map { Int32(clamping: $0) }
        created = json["created"]?.int ?? 0
        started = json["started"]?.int
        finished = json["finished"]?.int
    }
}
