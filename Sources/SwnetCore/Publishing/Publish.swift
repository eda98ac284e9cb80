#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink
import NFTables

extension Swnet {
    /// Publishes ports of a target swnet attached (a container or namespace), Docker-style.
    /// `network` picks the attachment when the target is on several networks. Every port is
    /// checked and claimed before nftables changes; the map elements go out in one batch.
    @discardableResult
    public func publish(_ targetText: String, specs: [PortSpec], network: String? = nil) throws -> [Publication] {
        guard !specs.isEmpty else { throw SwnetError.invalid("nothing to publish: give PORT specs or -P with exposed ports") }
        try requireNetworkPrivileges(for: "publish")
        return try publish(try resolveTarget(targetText), specs: specs, network: network)
    }

    func publish(_ target: ResolvedTarget, specs: [PortSpec], network: String?) throws -> [Publication] {
        try store.write { state in try publish(target, specs: specs, network: network, in: state) }
    }

    /// Every port is checked and recorded in the caller's transaction, then the map elements
    /// go out in one batch; if that fails, the transaction takes the records back.
    package func publish(_ target: ResolvedTarget, specs: [PortSpec], network: String?,
                 in state: borrowing StateTransaction) throws -> [Publication] {
        let attachment = try attachmentToPublish(target, network: network, in: state)
        var chosen = ChosenPorts()
        for spec in specs {
            try expand(spec, attachment: attachment, target: target, into: &chosen, in: state)
        }
        for publication in chosen.publications { try state.save(publication) }
        try applyElements(adding: chosen.publications, in: state)
        forgetFlows(to: chosen.publications)
        return chosen.publications
    }

    /// The namespace of ports `checkPortsFree` sets aside before the container exists: none
    /// (no namespace file has inode 0), and nothing reads it.
    private static let noNamespaceYet = NamespaceIdentity(device: 0, inode: 0)

    /// Fails, naming the holder, when a host port the specs fix is published already: what
    /// `run -p` checks before it makes anything. `families`: those of the network the ports
    /// will be published on, where a spec without host address goes.
    package func checkPortsFree(_ specs: [PortSpec], families: [IPFamily], in state: borrowing StateTransaction) throws {
        var chosen = ChosenPorts()
        for spec in specs {
            guard let hostPorts = spec.hostPorts, hostPorts.count == spec.containerPorts.count else { continue }
            let addresses = spec.hostAddress.map { [$0] } ?? families.map(IPAddress.unspecified)
            for port in hostPorts.first...hostPorts.last {
                for address in addresses {
                    try checkFree(port, spec.transport, address, chosen: chosen, in: state)
                    chosen.add(Publication(hostAddress: address, hostPort: port, portProtocol: spec.transport,
                                           containerAddress: address, containerPort: port, network: "",
                                           namespaceID: Self.noNamespaceYet, target: "this command"))
                }
            }
        }
    }

    /// Removes published ports of a target: the given specs (host side or container side
    /// matches), or all of them.
    @discardableResult
    public func unpublish(_ targetText: String, specs: [PortSpec]) throws -> [Publication] {
        try requireNetworkPrivileges(for: "unpublish")
        let target = try resolveTarget(targetText)
        return try store.write { state in
            let chosen = try specs.isEmpty ? state.publications(namespaceID: target.namespaceID)
                : specs.flatMap { try publications(matching: $0, of: target.namespaceID, in: state) }
            guard !chosen.isEmpty else { throw SwnetError.notFound("\(target.label) has no such published port") }
            try removePublications(chosen, in: state)
            return chosen
        }
    }

    /// A spec naming host ports is looked up by port; one naming container ports, among the
    /// target's publications.
    private func publications(matching spec: PortSpec, of namespaceID: NamespaceIdentity,
                              in state: borrowing StateTransaction) throws -> [Publication] {
        let candidates: [Publication]
        if let hostPorts = spec.hostPorts {
            candidates = try (hostPorts.first...hostPorts.last).flatMap { try state.publications(spec.transport, hostPort: $0) }
        } else {
            candidates = try state.publications(namespaceID: namespaceID)
        }
        return candidates.filter { $0.namespaceID == namespaceID && spec.matches($0) }
    }

    /// The ports a podman or docker container exposes (for `publish -P`): from the container's
    /// configuration, else from its image's (podman 4 reports EXPOSE only on the image).
    public func exposedPorts(ofEngineContainer text: String) throws -> [ExposedPorts] {
        let name = text.stripping(prefix: "podman:") ?? text.stripping(prefix: "docker:") ?? text
        for engine in ContainerEngine.allCases where !text.hasPrefix("\(engine == .podman ? "docker" : "podman"):") {
            guard let program = Subprocess.find(engine.rawValue) else { continue }
            guard let container = try inspect(program, ["--type", "container", name]) else { continue }
            let exposed = try ExposedPorts.fromImageConfig(container)
            if !exposed.isEmpty { return exposed }
            let image = container.array?.first?["Image"]?.string ?? container["Image"]?.string
            if let image, let imageConfig = try inspect(program, ["--type", "image", image]) {
                return try ExposedPorts.fromImageConfig(imageConfig)
            }
            return []
        }
        throw SwnetError.notFound("no exposed ports known for \(text): give them with --expose-from FILE")
    }

    private func inspect(_ program: String, _ arguments: [String]) throws -> JSON? {
        let result = try Subprocess.run([program, "inspect"] + arguments)
        guard result.status == 0 else { return nil }
        do { return try JSON(parsing: result.output) } catch {
            throw SwnetError("\(program) inspect \(arguments.last ?? "") printed no JSON: \(error)")
        }
    }

    /// `swnet port`: what a target publishes.
    public func publications(of targetText: String) throws -> [Publication] {
        let target = try resolveTarget(targetText)
        return try store.read { state in try state.publications(namespaceID: target.namespaceID) }
    }

    /// Drops publications: their records and map elements.
    func removePublications(_ publications: [Publication], in state: borrowing StateTransaction) throws {
        guard !publications.isEmpty else { return }
        // Elements first, records after: a swnet killed in between leaves records whose
        // elements are gone, which the next removal (gc) handles, never an element without a
        // record, which nothing would find again.
        var batch = NFTablesBatch()
        FirewallRuleset.deleteElements(for: publications, to: &batch)
        let deleted = (try? firewall().apply(batch)) != nil
        for publication in publications { try state.remove(publication) }
        // A table somebody flushed, or elements already gone: rebuild it from what is left.
        if !deleted { try renderFirewall(in: state) }
        forgetFlows(to: publications)
    }

    /// UDP flows to these host ports are forgotten by conntrack, so that packets of an old
    /// "connection" do not keep going to the container that held the port before (moby#8795,
    /// CNI plugins#123). Best effort: without conntrack there is nothing to forget.
    private func forgetFlows(to publications: [Publication]) {
        let ports = Set(publications.filter { $0.portProtocol == .udp }.map(\.hostPort))
        guard !ports.isEmpty, let conntrack = try? ConntrackHandle(namespace: hostNamespace) else { return }
        for port in ports { _ = try? conntrack.deleteEntries(protocolNumber: PortProtocol.udp.nftables.rawValue, destinationPort: port) }
    }

    /// Publications of a namespace on `network` (or all networks): what detach, stop and rm drop.
    package func removePublications(namespaceID: NamespaceIdentity, network: String? = nil, in state: borrowing StateTransaction) throws {
        try removePublications(try state.publications(namespaceID: namespaceID, network: network), in: state)
    }

    private func attachmentToPublish(_ target: ResolvedTarget, network: String?, in state: borrowing StateTransaction) throws -> Attachment {
        let attachments = try state.attachments(namespaceID: target.namespaceID).filter { network == nil || $0.network == network }
        switch attachments.count {
        case 0: throw SwnetError.notAttached(target: target.label, scope: network.map { "network \($0)" } ?? "any swnet network")
        case 1: return attachments[0]
        default:
            throw SwnetError("\(target.label) is on several networks (\(attachments.map(\.network).joined(separator: ", "))); pick one with --network")
        }
    }

    /// One publication per port of a spec and family; ephemeral host ports are picked here,
    /// the same for both families, as Docker does.
    private func expand(_ spec: PortSpec, attachment: Attachment,
                        target: ResolvedTarget, into chosen: inout ChosenPorts, in state: borrowing StateTransaction) throws {
        // Where the spec publishes: (host, container) address pairs, one a family; without a
        // host address, on every address of each family the container has.
        let containerAddresses = attachment.addresses.map(\.address)
        let destinations: [(host: IPAddress, container: IPAddress)]
        if let hostAddress = spec.hostAddress {
            guard let containerAddress = containerAddresses.first(where: { $0.family == hostAddress.family }) else {
                throw SwnetError.invalid("cannot publish \(spec) on an \(hostAddress.family) host address: \(target.label) has no \(hostAddress.family) address on \(attachment.network)")
            }
            destinations = [(hostAddress, containerAddress)]
        } else {
            destinations = containerAddresses.map { (IPAddress.unspecified($0.family), $0) }
        }
        for offset in 0..<spec.containerPorts.count {
            let containerPort = spec.containerPorts.first + UInt16(offset)
            let hostPort: UInt16
            if let hostPorts = spec.hostPorts, hostPorts.count == spec.containerPorts.count {
                hostPort = hostPorts.first + UInt16(offset)
            } else {
                // No host port, or a host range for one container port: the first free one.
                let candidates = spec.hostPorts.map { Array($0.first...$0.last) } ?? EphemeralPorts.candidates()
                guard let free = try candidates.first(where: { port in
                    try destinations.allSatisfy { try isFree(port, spec.transport, $0.host, chosen: chosen, in: state) }
                }) else { throw SwnetError.noFreeHostPort(spec: spec.description) }
                hostPort = free
            }
            for destination in destinations {
                try checkFree(hostPort, spec.transport, destination.host, chosen: chosen, in: state)
                chosen.add(Publication(hostAddress: destination.host, hostPort: hostPort, portProtocol: spec.transport,
                                       containerAddress: destination.container, containerPort: containerPort,
                                       network: attachment.network, namespaceID: attachment.namespaceID, target: target.label))
            }
        }
    }

    private func checkFree(_ port: UInt16, _ portProtocol: PortProtocol, _ address: IPAddress, chosen: ChosenPorts,
                           in state: borrowing StateTransaction) throws {
        if let holder = try chosen.clash(portProtocol, port, address) ?? state.conflictingPublication(portProtocol, port, address: address) {
            throw SwnetError.portPublished(port: "\(address.withPortSeparator):\(port)/\(portProtocol.rawValue)", holder: holder.target)
        }
    }

    private func isFree(_ port: UInt16, _ portProtocol: PortProtocol, _ address: IPAddress, chosen: ChosenPorts,
                        in state: borrowing StateTransaction) throws -> Bool {
        try chosen.clash(portProtocol, port, address) == nil
            && state.conflictingPublication(portProtocol, port, address: address) == nil
            && EphemeralPorts.canBind(port, portProtocol, address.family)
    }

    private func applyElements(adding publications: [Publication], in state: borrowing StateTransaction) throws {
        var batch = NFTablesBatch()
        FirewallRuleset.addElements(for: publications, to: &batch)
        do { _ = try firewall().apply(batch) } catch {
            // The table is missing (never made, or flushed by a firewall reload): rebuild it
            // from the state, which already holds these publications.
            guard try !firewall().exists(FirewallLayout.table) else {
                throw SwnetError.during("publish \(publications.map(\.hostDescription).joined(separator: ", "))", error)
            }
            try renderFirewall(in: state)
        }
    }
}

/// The ports one command publishes, found by (protocol, port) in O(1) when the next spec's
/// ports are checked against them.
struct ChosenPorts {
    private(set) var publications: [Publication] = []
    private var byPort: [Int: [Publication]] = [:]

    private static func key(_ portProtocol: PortProtocol, _ port: UInt16) -> Int {
        Int(port) << 8 | Int(portProtocol.nftables.rawValue)
    }

    mutating func add(_ publication: Publication) {
        publications.append(publication)
        byPort[Self.key(publication.portProtocol, publication.hostPort), default: []].append(publication)
    }

    /// A chosen publication that the port on `address` (unspecified: every address of its
    /// family) would clash with.
    func clash(_ portProtocol: PortProtocol, _ port: UInt16, _ address: IPAddress) -> Publication? {
        byPort[Self.key(portProtocol, port)]?.first {
            $0.family == address.family && ($0.hostAddress.isUnspecified || address.isUnspecified || $0.hostAddress == address)
        }
    }
}

extension PortSpec {
    /// Whether an unpublish spec names this publication: by its host port when it gives one,
    /// else by its container port.
    func matches(_ publication: Publication) -> Bool {
        guard transport == publication.portProtocol else { return false }
        if let hostAddress, hostAddress != publication.hostAddress { return false }
        if let hostPorts { return (hostPorts.first...hostPorts.last).contains(publication.hostPort) }
        return (containerPorts.first...containerPorts.last).contains(publication.containerPort)
    }
}

/// Host ports for publications without one: from ip_local_port_range, skipping
/// ip_local_reserved_ports, as Docker's -P does.
enum EphemeralPorts {
    static func candidates() -> [UInt16] {
        let range = (try? Files.readString("/proc/sys/net/ipv4/ip_local_port_range"))?
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { UInt16($0) } ?? []
        let (low, high) = range.count == 2 ? (range[0], range[1]) : (UInt16(32768), UInt16(60999))
        let reserved = reservedPorts()
        return (low...high).filter { !reserved.contains($0) }
    }

    private static func reservedPorts() -> Set<UInt16> {
        guard let text = try? Files.readString("/proc/sys/net/ipv4/ip_local_reserved_ports") else { return [] }
        var reserved = Set<UInt16>()
        for item in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) {
            let bounds = item.split(separator: "-").compactMap { UInt16($0) }
            if let first = bounds.first, let last = bounds.last, first <= last { reserved.formUnion(first...last) }
        }
        return reserved
    }

    /// A host process listening on the port would be shadowed by the DNAT: such ports are skipped.
    static func canBind(_ port: UInt16, _ portProtocol: PortProtocol, _ family: IPFamily) -> Bool {
        let type = portProtocol == .udp ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let fd = socket(family == .v4 ? AF_INET : AF_INET6, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        switch family {
        case .v4:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            return bind(fd, &address)
        case .v6:
            // IPv6 only: a listener on 0.0.0.0 alone does not take the IPv6 port.
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            return bind(fd, &address)
        }
    }

    private static func bind<Address>(_ fd: Int32, _ address: inout Address) -> Bool {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) == 0 }
        }
    }
}
