import Foundation
import Netlink

/// Creating namespaces and links needs CAP_SYS_ADMIN (unshare) and CAP_NET_ADMIN.
let canManageNetworks: Bool = {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    let netAdmin: UInt64 = 1 << 12, sysAdmin: UInt64 = 1 << 21
    return mask & netAdmin != 0 && mask & sysAdmin != 0
}()

/// A fresh namespace and a handle in it: each test works only there, never in the
/// machine's own namespace, and everything vanishes when the namespace object goes.
struct Sandbox {
    let namespace: NetworkNamespace
    let netlink: NetlinkHandle

    init() throws {
        namespace = try NetworkNamespace.create()
        netlink = try NetlinkHandle(namespace: namespace)
    }

    /// Runs an iproute2 command inside the sandbox's namespace (for cross-checking) and
    /// returns its standard output.
    @discardableResult
    func run(_ tool: String = "ip", _ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/proc/\(getpid())/fd/\(namespace.fd)", tool] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `ip -j …` parsed as a JSON array of objects.
    func json(_ arguments: String...) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/proc/\(getpid())/fd/\(namespace.fd)", "ip", "-j"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}
