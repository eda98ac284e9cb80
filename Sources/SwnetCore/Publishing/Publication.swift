#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON

/// One published port: HOST_IP:HOST_PORT/PROTO → CONTAINER_ADDRESS:CONTAINER_PORT.
public struct Publication: Sendable, Hashable {
    /// nil: every address of the host.
    public var hostAddress: IPv4Address?
    public var hostPort: UInt16
    public var portProtocol: PortProtocol
    public var containerAddress: IPv4Address
    public var containerPort: UInt16
    public var network: String
    /// The attachment's namespace identity: what detach, stop and rm remove by.
    public var namespaceID: String
    public var target: String

    public var hostDescription: String { "\(hostAddress?.description ?? "0.0.0.0"):\(hostPort)/\(portProtocol.rawValue)" }
}

extension Publication: JSONRepresentable {
    public var json: JSON {
        [
            "hostAddress": .string(hostAddress?.description ?? "0.0.0.0"),
            "hostPort": .int(Int64(hostPort)),
            "protocol": .string(portProtocol.rawValue),
            "containerAddress": .string(containerAddress.description),
            "containerPort": .int(Int64(containerPort)),
            "network": .string(network),
            "namespace": .string(namespaceID),
            "target": .string(target),
        ]
    }

    init(json: JSON) throws(SwnetError) {
        guard let host = json["hostAddress"]?.string, let hostPort = json["hostPort"]?.int,
              let portProtocol = json["protocol"]?.string.flatMap(PortProtocol.init(rawValue:)),
              let container = json["containerAddress"]?.string.flatMap(IPv4Address.init),
              let containerPort = json["containerPort"]?.int, let network = json["network"]?.string,
              let namespaceID = json["namespace"]?.string
        else { throw SwnetError("publication record is damaged") }
        hostAddress = host == "0.0.0.0" ? nil : IPv4Address(host)
        self.hostPort = UInt16(clamping: hostPort)
        self.portProtocol = portProtocol
        containerAddress = container
        self.containerPort = UInt16(clamping: containerPort)
        self.network = network
        self.namespaceID = namespaceID
        target = json["target"]?.string ?? namespaceID
    }
}

/// Published ports: `run/ports/PROTO/PORT/HOST_ADDRESS` (`any` for every address), created
/// under the state lock, so a port taken on any address conflicts with the same port on one
/// address and the other way round.
extension StateStore {
    private var portsDirectory: String { "\(location.run)/ports" }

    private func portDirectory(_ portProtocol: PortProtocol, _ port: UInt16) -> String {
        "\(portsDirectory)/\(portProtocol.rawValue)/\(port)"
    }

    /// Who holds the port now, when that conflicts with publishing it on `address`.
    func conflictingPublication(_ portProtocol: PortProtocol, _ port: UInt16, address: IPv4Address?) throws -> Publication? {
        let directory = portDirectory(portProtocol, port)
        let holders = try Files.list(directory)
        let clashing = address == nil ? holders : holders.filter { $0 == "any" || $0 == address!.description }
        guard let holder = clashing.first, let text = try Files.readString("\(directory)/\(holder)") else { return nil }
        return try Publication(json: JSON(parsing: text))
    }

    func save(_ publication: Publication) throws {
        let directory = portDirectory(publication.portProtocol, publication.hostPort)
        try Files.makeDirectories(directory)
        guard try Files.createExclusive("\(directory)/\(publication.hostAddress?.description ?? "any")",
                                        publication.json.serialized()) else {
            throw SwnetError("\(publication.hostDescription) is already published")
        }
    }

    func remove(_ publication: Publication) throws {
        let directory = portDirectory(publication.portProtocol, publication.hostPort)
        try Files.remove("\(directory)/\(publication.hostAddress?.description ?? "any")")
        rmdir(directory)
    }

    func publications() throws -> [Publication] {
        var all: [Publication] = []
        for portProtocol in PortProtocol.allCases {
            let protocolDirectory = "\(portsDirectory)/\(portProtocol.rawValue)"
            for port in try Files.list(protocolDirectory) {
                for holder in try Files.list("\(protocolDirectory)/\(port)") {
                    guard let text = try Files.readString("\(protocolDirectory)/\(port)/\(holder)") else { continue }
                    all.append(try Publication(json: JSON(parsing: text)))
                }
            }
        }
        return all.sorted { ($0.portProtocol, $0.hostPort) < ($1.portProtocol, $1.hostPort) }
    }

    func isPortPublished(_ portProtocol: PortProtocol, _ port: UInt16) -> Bool {
        Files.exists(portDirectory(portProtocol, port))
    }
}
