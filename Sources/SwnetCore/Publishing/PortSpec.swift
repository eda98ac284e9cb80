import IPAM
import JSON

/// A transport protocol a port can be published for.
public enum PortProtocol: String, Sendable, CaseIterable, Comparable {
    case tcp, udp, sctp

    /// IPPROTO_* number, as nftables matches it.
    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.number < rhs.number }
}

/// An inclusive port range; a single port is a range of one.
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    public var first: UInt16
    public var last: UInt16

    public init(_ first: UInt16, _ last: UInt16? = nil) {
        self.first = first
        self.last = last ?? first
    }

    public var count: Int { Int(last) - Int(first) + 1 }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }
}

/// Docker's `-p` grammar: `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|udp|sctp]`;
/// an IPv6 host address goes in brackets (`[::1]:8080:80`).
public struct PortSpec: Sendable, Hashable, CustomStringConvertible {
    /// nil: every host address of each family the container has an address of, as Docker's
    /// `-p 8080:80` binds 0.0.0.0 and [::]; 0.0.0.0 or [::]: every address of that family only.
    public var hostAddress: IPAddress?
    /// nil: ephemeral host ports, picked from ip_local_port_range.
    public var hostPorts: PortRange?
    public var containerPorts: PortRange
    public var transport: PortProtocol

    public init(hostAddress: IPAddress? = nil, hostPorts: PortRange? = nil, containerPorts: PortRange, transport: PortProtocol = .tcp) {
        self.hostAddress = hostAddress
        self.hostPorts = hostPorts
        self.containerPorts = containerPorts
        self.transport = transport
    }

    public init(parsing text: String) throws(SwnetError) {
        func invalid(_ problem: String) -> SwnetError { SwnetError.invalid("invalid port spec '\(text)': \(problem)") }
        var rest = Substring(text)
        transport = .tcp
        if let slash = rest.lastIndex(of: "/") {
            let name = rest[rest.index(after: slash)...].lowercased()
            guard let transport = PortProtocol(rawValue: name) else {
                throw invalid("unknown protocol '\(name)' (tcp, udp or sctp)")
            }
            self.transport = transport
            rest = rest[..<slash]
        }
        var parts: [String]
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("'[' without ']'") }
            let inside = String(rest[rest.index(after: rest.startIndex)..<close])
            guard let address = IPAddress(inside) else { throw invalid("'\(inside)' is not an IPv6 address") }
            guard address.family == .v6 else { throw invalid("'\(inside)' is IPv4: only IPv6 goes in brackets") }
            guard rest[close...].hasPrefix("]:") else { throw invalid("expected [IPV6]:HOST_PORT:CONTAINER_PORT") }
            hostAddress = address
            parts = rest[rest.index(close, offsetBy: 2)...].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { throw invalid("expected [IPV6]:HOST_PORT:CONTAINER_PORT (HOST_PORT may be empty)") }
        } else {
            parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count > 3 { throw invalid("too many ':' (an IPv6 host address goes in brackets: [::]:8080:80)") }
            if parts.count == 3 {
                guard let address = IPAddress(parts[0]), address.family == .v4 else {
                    throw invalid("'\(parts[0])' is not an IPv4 address (IPv6 goes in brackets)")
                }
                hostAddress = address
                parts.removeFirst()
            }
        }
        if let problem = hostAddress.flatMap(Self.unpublishable) { throw invalid(problem) }
        if parts.count == 2 && !parts[0].isEmpty { hostPorts = try Self.range(parts[0], in: text) }
        containerPorts = try Self.range(parts[parts.count - 1], in: text)
        if let hostPorts, hostPorts.count != containerPorts.count && containerPorts.count != 1 {
            throw invalid("host range \(hostPorts) and container range \(containerPorts) differ in size")
        }
    }

    /// Why a port cannot be published on a host address, or nil.
    public static func unpublishable(_ address: IPAddress) -> String? {
        guard case .v6(let address) = address else { return nil }
        return address.isIPv4Mapped ? "'\(address)' is IPv4-mapped: give the IPv4 address" : nil
    }

    private static func range(_ text: String, in spec: String) throws(SwnetError) -> PortRange {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), let first = port(bounds[0]), let last = port(bounds[bounds.count - 1]), first <= last else {
            throw SwnetError.invalid("invalid port spec '\(spec)': '\(text)' is not a port or a range of ports (1-65535)")
        }
        return PortRange(first, last)
    }

    private static func port(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let value = UInt16(text), value > 0 else { return nil }
        return value
    }

    public var description: String {
        var text = ""
        if let hostAddress {
            text += "\(hostAddress.withPortSeparator):\(hostPorts?.description ?? ""):"
        } else if let hostPorts {
            text += "\(hostPorts):"
        }
        return text + "\(containerPorts)/\(transport.rawValue)"
    }
}

/// An exposed port (`--expose`, Dockerfile `EXPOSE`, an image config's `ExposedPorts`):
/// `PORT[-END][/PROTO]`.
public struct ExposedPorts: Sendable, Hashable {
    public var ports: PortRange
    public var transport: PortProtocol

    public init(parsing text: String) throws(SwnetError) {
        let spec = try PortSpec(parsing: text)
        guard spec.hostAddress == nil, spec.hostPorts == nil else {
            throw SwnetError.invalid("invalid exposed port '\(text)': expected PORT[-END][/tcp|udp|sctp]")
        }
        ports = spec.containerPorts
        transport = spec.transport
    }

    /// The ports a Dockerfile's EXPOSE lines name (continuation lines and comments handled).
    public static func fromDockerfile(_ text: String) throws(SwnetError) -> [ExposedPorts] {
        var exposed: [ExposedPorts] = []
        var logical = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("#") { continue }
            if trimmed.hasSuffix("\\") {
                logical += trimmed.dropLast() + " "
                continue
            }
            logical += trimmed
            let words = logical.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let instruction = words.first, instruction.uppercased() == "EXPOSE" {
                for word in words.dropFirst() { exposed.append(try ExposedPorts(parsing: String(word))) }
            }
            logical = ""
        }
        return exposed
    }

    /// The ports an OCI image config (`config.ExposedPorts`) or `docker|podman inspect` output
    /// (`Config.ExposedPorts`, possibly inside an array) names: keys like "80/tcp".
    public static func fromImageConfig(_ json: JSON) throws(SwnetError) -> [ExposedPorts] {
        let root = json.array?.first ?? json
        guard let ports = (root["config"] ?? root["Config"])?["ExposedPorts"]?.object else { return [] }
        var exposed: [ExposedPorts] = []
        for key in ports.keys.sorted() { exposed.append(try ExposedPorts(parsing: key)) }
        return exposed
    }

    /// `--expose-from FILE`: JSON is an image config, anything else a Dockerfile.
    public static func fromFile(_ path: String) throws -> [ExposedPorts] {
        guard let text = try Files.readString(path) else { throw SwnetError.notFound("no such file: \(path)") }
        if text.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" }).first.map({ $0 == "{" || $0 == "[" }) == true {
            do { return try fromImageConfig(try JSON(parsing: text)) } catch let error as JSONError {
                throw SwnetError("\(path) is not a valid image config: \(error)")
            }
        }
        return try fromDockerfile(text)
    }
}
