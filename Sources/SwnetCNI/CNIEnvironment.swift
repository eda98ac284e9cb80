#if canImport(Glibc)
import Glibc
#endif

/// What the runtime passes in CNI_* variables, checked for the command at hand.
struct CNIEnvironment {
    enum Command: String { case add = "ADD", del = "DEL", check = "CHECK", gc = "GC", status = "STATUS", version = "VERSION" }

    var command: Command
    var containerID: String
    var netns: String
    var interface: String
    /// CNI_ARGS: `KEY=VALUE;KEY=VALUE`.
    var arguments: [String: String]
    var pluginPath: [String]

    static func read(_ variable: String) -> String? { getenv(variable).map { String(cString: $0) } }

    static func fromProcess() throws(CNIError) -> CNIEnvironment {
        guard let text = read("CNI_COMMAND"), !text.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_COMMAND is not set") }
        guard let command = Command(rawValue: text) else {
            throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND '\(text)' (ADD, DEL, CHECK, GC, STATUS or VERSION)")
        }
        var environment = CNIEnvironment(command: command, containerID: read("CNI_CONTAINERID") ?? "", netns: read("CNI_NETNS") ?? "",
                                         interface: read("CNI_IFNAME") ?? "", arguments: [:],
                                         pluginPath: (read("CNI_PATH") ?? "").split(separator: ":").map(String.init))
        switch command {
        case .add, .check:
            try environment.requireContainer()
            if environment.netns.isEmpty { throw CNIError(.invalidEnvironment, "CNI_NETNS is not set") }
        case .del:
            try environment.requireContainer()
        case .gc, .status, .version:
            break
        }
        environment.arguments = try parseArguments(read("CNI_ARGS") ?? "")
        return environment
    }

    private func requireContainer() throws(CNIError) {
        guard !containerID.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is not set") }
        guard Self.isValidContainerID(containerID) else {
            throw CNIError(.invalidEnvironment, "invalid CNI_CONTAINERID '\(containerID)': letters, digits, '_', '.' and '-', starting with a letter or digit")
        }
        guard !interface.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_IFNAME is not set") }
        guard interface.utf8.count <= 15, interface != ".", interface != "..",
              !interface.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7f }) else {
            throw CNIError(.invalidEnvironment, "invalid CNI_IFNAME '\(interface)': not a Linux interface name")
        }
    }

    /// `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, as the spec says.
    static func isValidContainerID(_ id: String) -> Bool {
        func alphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
        }
        guard let first = id.utf8.first, alphanumeric(first) else { return false }
        return id.utf8.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func parseArguments(_ text: String) throws(CNIError) -> [String: String] {
        var arguments: [String: String] = [:]
        for pair in text.split(separator: ";") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw CNIError(.invalidEnvironment, "invalid CNI_ARGS pair '\(pair)': expected KEY=VALUE")
            }
            arguments[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return arguments
    }
}
