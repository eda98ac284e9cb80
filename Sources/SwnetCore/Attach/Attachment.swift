import IPAM
import JSON

/// One container interface on one network: the runtime record of an attach. It is written
/// before the kernel is touched (state `pending`) so that a crash part-way leaves enough to
/// undo, and marked `active` once everything is in place.
public struct Attachment: Sendable, Equatable {
    public enum Phase: String, Sendable { case pending, active }

    public var network: String
    /// The namespace's identity (device-inode): the key that makes an attach unique per network.
    public var namespaceID: String
    /// How the user named the target, e.g. "pid 1234" or "netns c1".
    public var target: String
    /// A path that reopens the namespace while it lives.
    public var namespacePath: String
    public var hostInterface: String
    public var containerInterface: String
    public var mac: String?
    public var address: InterfaceAddress
    public var gateway: IPAddress?
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
}

extension Attachment: JSONRepresentable {
    public var json: JSON {
        var object: [String: JSON] = [
            "network": .string(network),
            "namespace": .string(namespaceID),
            "target": .string(target),
            "namespacePath": .string(namespacePath),
            "hostInterface": .string(hostInterface),
            "containerInterface": .string(containerInterface),
            "address": .string(address.description),
            "mtu": .int(Int64(mtu)),
            "phase": .string(phase.rawValue),
            "created": .int(created),
        ]
        object["mac"] = mac.map { .string($0) } ?? .null
        object["gateway"] = gateway.map { .string($0.description) } ?? .null
        object["dataPath"] = .string(dataPath)
        object["fastPath"] = fastPath?.json ?? .null
        if let fastPathUnavailable { object["fastPathUnavailable"] = .string(fastPathUnavailable) }
        if let cni { object["cni"] = cni.json }
        return .object(object)
    }

    init(json: JSON) throws(SwnetError) {
        guard let network = json["network"]?.string,
              let namespaceID = json["namespace"]?.string,
              let hostInterface = json["hostInterface"]?.string,
              let containerInterface = json["containerInterface"]?.string,
              let address = json["address"]?.string.flatMap(InterfaceAddress.init),
              let phase = json["phase"]?.string.flatMap(Phase.init(rawValue:))
        else { throw SwnetError.damagedRecord("attachment") }
        self.network = network
        self.namespaceID = namespaceID
        self.hostInterface = hostInterface
        self.containerInterface = containerInterface
        self.address = address
        self.phase = phase
        target = json["target"]?.string ?? namespaceID
        namespacePath = json["namespacePath"]?.string ?? ""
        mac = json["mac"]?.string
        gateway = json["gateway"]?.string.flatMap(IPAddress.init)
        mtu = UInt32(clamping: json["mtu"]?.int ?? 0)
        created = json["created"]?.int ?? 0
        fastPath = FastPathPort(json: json["fastPath"])
        fastPathUnavailable = json["fastPathUnavailable"]?.string
        cni = json["cni"].flatMap(CNIMembership.init(json:))
    }
}
