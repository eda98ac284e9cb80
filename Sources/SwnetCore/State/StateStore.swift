#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON

/// Where swnet keeps its state. Network definitions live under `lib` and persist; leases and
/// attachments live under `run` and are runtime state that must not outlive a reboot.
public struct StateLocation: Sendable, Equatable {
    public var lib: String
    public var run: String

    public init(lib: String, run: String) {
        self.lib = lib
        self.run = run
    }

    /// `root` (from --root), else $SWNET_ROOT, puts everything under one directory;
    /// otherwise the system defaults.
    public static func resolve(root: String?) -> StateLocation {
        let chosen = root ?? getenv("SWNET_ROOT").map { String(cString: $0) }
        if let chosen, !chosen.isEmpty {
            return StateLocation(lib: "\(chosen)/lib", run: "\(chosen)/run")
        }
        return StateLocation(lib: "/var/lib/swnet", run: "/run/swnet")
    }
}

/// Files under the state location. Every method expects the caller to hold the state lock;
/// leases are additionally claimed with O_EXCL so that two claims can never both win.
final class StateStore {
    let location: StateLocation
    private var bootChecked = false

    init(location: StateLocation) {
        self.location = location
    }

    private var networksDirectory: String { "\(location.lib)/networks" }
    private func runtimeDirectory(_ network: String) -> String { "\(location.run)/networks/\(network)" }
    private func leasesDirectory(_ network: String) -> String { "\(runtimeDirectory(network))/leases" }
    private func attachmentsDirectory(_ network: String) -> String { "\(runtimeDirectory(network))/attachments" }

    // MARK: Locking and reboots

    /// Takes the state lock. Runtime state written during an earlier boot is discarded first:
    /// /run is a tmpfs by default, but --root may point anywhere, so the boot id decides.
    func lock(_ mode: FileLock.Mode) throws -> FileLock {
        let lockPath = "\(location.run)/lock"
        // Within one process the boot cannot change: check it once.
        if bootChecked { return try FileLock(path: lockPath, mode: mode) }
        try Files.makeDirectories(location.run)
        let bootIDPath = "\(location.run)/boot-id"
        let currentBoot = try Files.readString("/proc/sys/kernel/random/boot_id") ?? ""
        defer { bootChecked = true }
        do {
            let lock = try FileLock(path: lockPath, mode: mode)
            if try Files.readString(bootIDPath) == currentBoot { return lock }
        }
        // A new boot: drop what the old one left, under the exclusive lock.
        let exclusive = try FileLock(path: lockPath, mode: .exclusive)
        if try Files.readString(bootIDPath) != currentBoot {
            try Files.removeTree("\(location.run)/networks")
            try Files.writeAtomically(bootIDPath, currentBoot)
        }
        return exclusive
    }

    // MARK: Networks

    func networkNames() throws -> [String] {
        try Files.list(networksDirectory)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }

    func network(named name: String) throws -> NetworkDefinition? {
        guard let text = try Files.readString("\(networksDirectory)/\(name).json") else { return nil }
        return try NetworkDefinition(json: JSON(parsing: text))
    }

    func networks() throws -> [NetworkDefinition] {
        try networkNames().compactMap { try network(named: $0) }
    }

    func save(_ network: NetworkDefinition) throws {
        try Files.makeDirectories(networksDirectory)
        try Files.writeAtomically("\(networksDirectory)/\(network.name).json",
                                  network.json.serialized(pretty: true) + "\n", durable: true)
    }

    func removeNetwork(named name: String) throws {
        try Files.removeTree(runtimeDirectory(name))
        try Files.remove("\(networksDirectory)/\(name).json")
    }

    // MARK: Attachments

    private func attachmentPath(_ network: String, _ namespaceID: String) -> String {
        "\(attachmentsDirectory(network))/\(namespaceID).json"
    }

    func attachment(network: String, namespaceID: String) throws -> Attachment? {
        guard let text = try Files.readString(attachmentPath(network, namespaceID)) else { return nil }
        return try Attachment(json: JSON(parsing: text))
    }

    func attachments(network: String) throws -> [Attachment] {
        try Files.list(attachmentsDirectory(network))
            .filter { $0.hasSuffix(".json") }
            .compactMap { name in
                guard let text = try Files.readString("\(attachmentsDirectory(network))/\(name)") else { return nil }
                return try Attachment(json: JSON(parsing: text))
            }
    }

    func attachmentCount(network: String) throws -> Int {
        try Files.list(attachmentsDirectory(network)).filter { $0.hasSuffix(".json") }.count
    }

    func save(_ attachment: Attachment) throws {
        try Files.makeDirectories(attachmentsDirectory(attachment.network))
        try Files.writeAtomically(attachmentPath(attachment.network, attachment.namespaceID),
                                  attachment.json.serialized() + "\n")
    }

    func removeAttachment(network: String, namespaceID: String) throws {
        try Files.remove(attachmentPath(network, namespaceID))
    }

    // MARK: Leases

    /// Claims `address` for `owner`; false when somebody holds it already.
    func claimLease(network: String, address: IPAddress, owner: String) throws -> Bool {
        try Files.makeDirectories(leasesDirectory(network))
        return try Files.createExclusive("\(leasesDirectory(network))/\(address)", owner)
    }

    func leaseOwner(network: String, address: IPAddress) throws -> String? {
        try Files.readString("\(leasesDirectory(network))/\(address)")
    }

    func releaseLease(network: String, address: IPAddress) throws {
        try Files.remove("\(leasesDirectory(network))/\(address)")
    }

    /// Every lease of a network with its owner (the attachment's namespace id).
    func leases(network: String) throws -> [(address: IPAddress, owner: String)] {
        try Files.list(leasesDirectory(network)).compactMap { name in
            guard let address = IPAddress(name),
                  let owner = try Files.readString("\(leasesDirectory(network))/\(name)") else { return nil }
            return (address, owner)
        }
    }

    /// The last address handed out automatically: allocation resumes after it, so the next
    /// free address is normally found on the first try instead of by scanning all leases.
    func allocationCursor(network: String) throws -> IPAddress? {
        try Files.readString("\(runtimeDirectory(network))/cursor").flatMap(IPAddress.init)
    }

    func setAllocationCursor(network: String, _ address: IPAddress) throws {
        try Files.makeDirectories(runtimeDirectory(network))
        try Files.writeAtomically("\(runtimeDirectory(network))/cursor", address.description)
    }
}
