/// A user-facing failure: one line that names the problem. Lower-level errors (netlink,
/// IPAM, system calls) are wrapped with what swnet was doing when they happened. Tests and
/// scripts match on the case; `description` is the line the CLI prints.
public enum SwnetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A failure of no kind worth matching on: the whole line.
    case message(String)
    /// Input that does not parse or is out of range: the whole line ("invalid MTU 9: ...").
    case invalid(String)
    /// Something named that does not exist, other than a network or container: the whole line.
    case notFound(String)

    case noSuchNetwork(String)
    case networkExists(String)
    /// A network that still has attachments, removed without --force.
    case networkInUse(network: String, attachments: Int)
    case subnetOverlaps(subnet: String, network: String, networkSubnet: String)
    case interfaceExists(String)

    case noSuchContainer(String)
    case containerNameInUse(String)
    case containerNotRunning(String)
    /// Removed without -f while it runs.
    case containerRunning(String)

    case alreadyAttached(target: String, network: String, interface: String, address: String)
    /// `scope` is "network NAME" or "any network", with the interface when one was asked for.
    case notAttached(target: String, scope: String)
    case addressInUse(address: String, network: String)
    case addressesExhausted(network: String, subnet: String)

    /// `port` as HOST_IP:PORT/PROTO; `holder` names who published it.
    case portPublished(port: String, holder: String)
    case noFreeHostPort(spec: String)

    /// A verb run without a capability it needs (`capability` as "CAP_NET_ADMIN").
    case missingPrivilege(action: String, capability: String)

    /// A state record that cannot be read back.
    case damagedRecord(String)
    /// The state database failed (disk full, permissions, a damaged file).
    case state(String)

    /// A plain message, for failures without a case of their own.
    public init(_ message: String) { self = .message(message) }

    public var message: String {
        switch self {
        case .message(let text), .invalid(let text), .notFound(let text): text
        case .noSuchNetwork(let name): "no network named \(name)"
        case .networkExists(let name): "network \(name) already exists"
        case .networkInUse(let network, let count):
            "network \(network) has \(count) attachment\(count == 1 ? "" : "s"); detach them or use --force"
        case .subnetOverlaps(let subnet, let network, let networkSubnet):
            "subnet \(subnet) overlaps network \(network) (\(networkSubnet))"
        case .interfaceExists(let name): "interface \(name) already exists"
        case .noSuchContainer(let text): "no such container: \(text)"
        case .containerNameInUse(let name): "container name \(name) is already in use"
        case .containerNotRunning(let name): "container \(name) is not running"
        case .containerRunning(let name): "container \(name) is running; stop it first or use -f"
        case .missingPrivilege(let action, let capability): "\(action) needs \(capability); run it as root"
        case .alreadyAttached(let target, let network, let interface, let address):
            "\(target) is already attached to network \(network) (\(interface), \(address))"
        case .notAttached(let target, let scope): "\(target) is not attached to \(scope)"
        case .addressInUse(let address, let network): "\(address) is already in use on network \(network)"
        case .addressesExhausted(let network, let subnet): "no free address left in subnet \(subnet) of network \(network)"
        case .portPublished(let port, let holder): "\(port) is already published by \(holder)"
        case .noFreeHostPort(let spec): "no free host port for \(spec)"
        case .damagedRecord(let what): "\(what) record is damaged"
        case .state(let detail): "state: \(detail)"
        }
    }

    public var description: String { message }
}

extension SwnetError {
    /// Prefixes any error with the step that failed, keeping user errors unchanged.
    package static func during(_ step: String, _ error: any Error) -> SwnetError {
        if let error = error as? SwnetError { return error }
        return SwnetError("\(step): \(error)")
    }
}
