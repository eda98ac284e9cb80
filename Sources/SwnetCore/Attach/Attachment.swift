import IPAM
import JSON
import Netlink

/// One container interface on one network: the runtime record of an attach. It is written
/// before the kernel is touched (state `pending`) so that a crash part-way leaves enough to
/// undo, and marked `active` once everything is in place.
public struct Attachment: Sendable, Equatable {
    public enum Phase: String, Sendable { case pending, active }

    public var network: String
    /// The namespace's identity (device-inode): the key that makes an attach unique per network.
    public var namespaceID: NamespaceIdentity
    /// How the user named the target, e.g. "pid 1234" or "netns c1".
    public var target: String
    /// A path that reopens the namespace while it lives.
    public var namespacePath: String
    public var hostInterface: String
    public var containerInterface: String
    public var mac: MACAddress?
    /// One address per family, IPv4 first; never empty.
    public var addresses: [InterfaceAddress]
    /// The default routes' gateways swnet set, at most one per family, IPv4 first.
    public var gateways: [IPAddress]
    public var mtu: UInt32
    public var phase: Phase
    public var created: Int64
    /// Set when the attachment is on the eBPF fast path (see FastPath/).
    public var fastPath: FastPathPort? = nil
    /// Why it is not, when the fast path was wanted but the kernel refused it.
    public var fastPathUnavailable: String? = nil

    /// The way its traffic to neighbours on this host takes: "fast-path" or "bridge".
    public var dataPath: String { fastPath == nil ? "bridge" : "fast-path" }
    /// Set when a CNI runtime made it: its container id, by which DEL finds it without a netns.
    public var cni: CNIMembership? = nil

    public init(network: String, namespaceID: NamespaceIdentity, target: String, namespacePath: String, hostInterface: String,
                containerInterface: String, mac: MACAddress?, addresses: [InterfaceAddress], gateways: [IPAddress],
                mtu: UInt32, phase: Phase, created: Int64, cni: CNIMembership? = nil) {
        self.network = network
        self.namespaceID = namespaceID
        self.target = target
        self.namespacePath = namespacePath
        self.hostInterface = hostInterface
        self.containerInterface = containerInterface
        self.mac = mac
        self.addresses = addresses.sorted { $0.family == .v4 && $1.family == .v6 }
        self.gateways = gateways.sorted { $0.family == .v4 && $1.family == .v6 }
        self.mtu = mtu
        self.phase = phase
        self.created = created
        self.cni = cni
    }

    public func address(_ family: IPFamily) -> InterfaceAddress? {
        addresses.first { $0.family == family }
    }

    public func gateway(_ family: IPFamily) -> IPAddress? {
        gateways.first { $0.family == family }
    }

    /// The first address: the IPv4 one on a dual-stack network.
    public var address: InterfaceAddress { addresses[0] }

    /// The gateway of the first address's family.
    public var gateway: IPAddress? { gateway(address.family) }

    /// Every address, as messages and tables show them: "10.0.0.5/24,fd00::5/64".
    public var addressSummary: String { addresses.map(\.description).joined(separator: ",") }

    /// Every default route's gateway, or "-".
    public var gatewaySummary: String { gateways.isEmpty ? "-" : gateways.map(\.description).joined(separator: ",") }
}

extension Attachment: JSONRepresentable {
    /// "addresses" and "gateways" list every family; "address" and "gateway" repeat the first
    /// address's, as records written before dual stack had them.
    public var json: JSON {
        var object: [String: JSON] = [
            "network": .string(network),
            "namespace": .string(namespaceID.description),
            "target": .string(target),
            "namespacePath": .string(namespacePath),
            "hostInterface": .string(hostInterface),
            "containerInterface": .string(containerInterface),
            "addresses": .array(addresses.map { .string($0.description) }),
            "address": .string(address.description),
            "gateways": .array(gateways.map { .string($0.description) }),
            "mtu": .int(Int64(mtu)),
            "phase": .string(phase.rawValue),
            "created": .int(created),
        ]
        object["mac"] = mac.map { .string($0.description) } ?? .null
        object["gateway"] = gateway.map { .string($0.description) } ?? .null
        object["dataPath"] = .string(dataPath)
        object["fastPath"] = fastPath?.json ?? .null
        if let fastPathUnavailable { object["fastPathUnavailable"] = .string(fastPathUnavailable) }
        if let cni { object["cni"] = cni.json }
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let network = json["network"]?.string,
              let namespaceID = json["namespace"]?.string.flatMap(NamespaceIdentity.init),
              let hostInterface = json["hostInterface"]?.string,
              let containerInterface = json["containerInterface"]?.string,
              let addresses = NetworkDefinition.addresses(json, list: "addresses", single: "address", InterfaceAddress.init),
              !addresses.isEmpty,
              let gateways = NetworkDefinition.addresses(json, list: "gateways", single: "gateway", IPAddress.init),
              let phase = json["phase"]?.string.flatMap(Phase.init(rawValue:))
        else { throw SwnetError.damagedRecord("attachment") }
        self.init(network: network, namespaceID: namespaceID, target: json["target"]?.string ?? namespaceID.description,
                  namespacePath: json["namespacePath"]?.string ?? "", hostInterface: hostInterface,
                  containerInterface: containerInterface, mac: json["mac"]?.string.flatMap { MACAddress($0) }, addresses: addresses,
                  gateways: gateways, mtu: UInt32(clamping: json["mtu"]?.int ?? 0), phase: phase,
                  created: json["created"]?.int ?? 0, cni: json["cni"].flatMap(CNIMembership.init(json:)))
        fastPath = FastPathPort(json: json["fastPath"])
        fastPathUnavailable = json["fastPathUnavailable"]?.string
    }
}
