import IPAM
import JSON

/// A CNI result (interfaces, ips, routes, dns), written in the shape of whatever version the
/// runtime asked for, and read back from a `prevResult` or a delegated IPAM plugin's output
/// of any supported version.
struct CNIResult {
    struct Interface {
        var name: String
        var mac: String?
        var mtu: UInt32?
        /// The namespace path for interfaces inside the container; nil on the host.
        var sandbox: String?
    }

    struct IPConfig {
        var address: InterfaceAddress
        var gateway: IPAddress?
        /// An index into `interfaces`.
        var interface: Int?
    }

    struct Route {
        var destination: IPNetwork
        var gateway: IPAddress?
    }

    var interfaces: [Interface] = []
    var ips: [IPConfig] = []
    var routes: [Route] = []
    var dns: JSON = [:]

    func json(version: String) -> JSON {
        var object: [String: JSON] = ["cniVersion": .string(version), "dns": dns]
        object["interfaces"] = .array(interfaces.map { interface in
            var entry: [String: JSON] = ["name": .string(interface.name)]
            if let mac = interface.mac { entry["mac"] = .string(mac) }
            if let sandbox = interface.sandbox { entry["sandbox"] = .string(sandbox) }
            if let mtu = interface.mtu, CNIVersion.isAtLeast(version, "1.1.0") { entry["mtu"] = .int(Int64(mtu)) }
            return .object(entry)
        })
        object["ips"] = .array(ips.map { ip in
            var entry: [String: JSON] = ["address": .string(ip.address.description)]
            if let gateway = ip.gateway { entry["gateway"] = .string(gateway.description) }
            if let interface = ip.interface { entry["interface"] = .int(Int64(interface)) }
            if CNIVersion.namesAddressFamily(version) { entry["version"] = .string(ip.address.family == .v4 ? "4" : "6") }
            return .object(entry)
        })
        object["routes"] = .array(routes.map { route in
            var entry: [String: JSON] = ["dst": .string(route.destination.description)]
            if let gateway = route.gateway { entry["gw"] = .string(gateway.description) }
            return .object(entry)
        })
        return .object(object)
    }

    init() {}

    /// Reads a result of any supported version (0.3.0 and later share these fields).
    init(parsing json: JSON, what: String) throws(CNIError) {
        func bad(_ detail: String) -> CNIError { CNIError(.decodingFailure, "\(what): \(detail)") }
        guard json.object != nil else { throw bad("not a JSON object") }
        for entry in json["interfaces"]?.array ?? [] {
            guard let name = entry["name"]?.string else { throw bad("an interface without a name") }
            let sandbox = entry["sandbox"]?.string
            interfaces.append(Interface(name: name, mac: entry["mac"]?.string, mtu: entry["mtu"]?.int.map { UInt32(clamping: $0) },
                                        sandbox: sandbox?.isEmpty == false ? sandbox : nil))
        }
        for entry in json["ips"]?.array ?? [] {
            guard let text = entry["address"]?.string, let address = InterfaceAddress(text) else {
                throw bad("an ips entry without a valid address")
            }
            let gateway = try entry["gateway"]?.string.map { text throws(CNIError) in
                guard let gateway = IPAddress(text) else { throw bad("invalid gateway '\(text)'") }
                return gateway
            }
            let index = entry["interface"]?.int.map(Int.init)
            if let index, !interfaces.indices.contains(index) { throw bad("ips entry \(address) names interface \(index), which is not listed") }
            ips.append(IPConfig(address: address, gateway: gateway, interface: index))
        }
        for entry in json["routes"]?.array ?? [] {
            guard let text = entry["dst"]?.string, let destination = IPNetwork(text) ?? InterfaceAddress(text)?.network else {
                throw bad("a route without a valid dst")
            }
            routes.append(Route(destination: destination, gateway: entry["gw"]?.string.flatMap(IPAddress.init)))
        }
        dns = json["dns"] ?? [:]
    }
}
