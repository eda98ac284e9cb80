import IPAM
import JSON
import Netlink
import SwnetCore

/// The network configuration on stdin: swnet's keys (modelled on the bridge and host-local
/// plugins'), the runtime's capability arguments (`runtimeConfig`) and a chain's `prevResult`.
struct NetworkConfiguration {
    var cniVersion: String
    /// The CNI network's name; also the swnet network's unless `network` names another.
    var name: String
    var network: CNINetworkSpec
    /// An `ipam` section of another plugin's type, which then hands out the address.
    var delegatedIPAM: String?
    var mtu: UInt32?
    var hairpin = false
    /// From `runtimeConfig` (capabilities `ips`: one per family) or CNI_ARGS `IP=`/`MAC=`.
    var requestedAddresses: [String] = []
    var mac: MACAddress?
    var ports: [PortSpec] = []
    /// The capability `bandwidth`, as the bandwidth plugin reads it.
    var ingress: TokenBucket?
    var egress: TokenBucket?
    var prevResult: JSON?
    /// GC: the attachments the runtime still knows (`cni.dev/valid-attachments`).
    var validAttachments: Set<CNIContainer> = []
    /// `swnetRoot`: swnet's state under one directory, as `swnet --root`. Runtimes do not
    /// always pass their environment on (podman's cleanup after conmon does not), so a
    /// configuration that needs another root than the default says so itself.
    var stateRoot: String?
    var raw: JSON

    /// Parses stdin once: the version alone also serves VERSION and errors in the runtime's version.
    static func parse(_ input: [UInt8]) -> Result<JSON, JSONError> {
        Result { () throws(JSONError) -> JSON in try JSON(parsing: input) }
    }

    init(_ document: Result<JSON, JSONError>, arguments: [String: String]) throws(CNIError) {
        let json: JSON
        switch document {
        case .success(let parsed): json = parsed
        case .failure(let error): throw CNIError(.decodingFailure, "the network configuration is not valid JSON: \(error)")
        }
        func invalid(_ message: String) -> CNIError { CNIError(.invalidConfiguration, message) }
        guard json.object != nil else { throw invalid("the network configuration is not a JSON object") }
        guard let cniVersion = json["cniVersion"]?.string else { throw invalid("the network configuration has no cniVersion") }
        try CNIVersion.check(cniVersion)
        guard let name = json["name"]?.string, !name.isEmpty else { throw invalid("the network configuration has no name") }
        self.cniVersion = cniVersion
        self.name = name
        raw = json
        stateRoot = try Self.string(json, "swnetRoot", invalid)

        var spec = CNINetworkSpec(name: try Self.string(json, "network", invalid) ?? name)
        do { try NetworkRules.checkName(spec.name) } catch { throw invalid("\(error)") }
        spec.bridge = try Self.string(json, "bridge", invalid)
        if let bridge = spec.bridge {
            do { try NetworkRules.checkBridgeName(bridge) } catch { throw invalid("\(error)") }
        }
        spec.masquerade = try Self.bool(json, "ipMasq", invalid)
        if let isGateway = try Self.bool(json, "isGateway", invalid), !isGateway {
            throw CNIError(.unsupportedField, "isGateway false is not supported: a swnet network's bridge holds the gateway")
        }
        if let mtu = json["mtu"] {
            guard let value = mtu.int.flatMap(UInt32.init(exactly:)), NetworkRules.mtuRange.contains(value) else {
                throw invalid("invalid mtu \(mtu.serialized()): \(NetworkRules.mtuRange.lowerBound) to \(NetworkRules.mtuRange.upperBound)")
            }
            self.mtu = value
            spec.mtu = value
        }
        hairpin = try Self.bool(json, "hairpinMode", invalid) ?? false

        // The subnets: top-level `subnet`/`gateway`, or host-local's `ranges` (here or in an
        // `ipam` section of type swnet-cni): range sets, one per family for dual stack.
        let ipam = json["ipam"]
        if let type = ipam?["type"]?.string, type != "swnet-cni" {
            delegatedIPAM = type
        }
        let ranges = (delegatedIPAM == nil ? [json, ipam ?? [:]] : [json]).flatMap { section in
            [section] + (section["ranges"]?.array ?? []).flatMap { $0.array ?? [$0] }
        }
        var subnets: [(IPNetwork, IPAddress?)] = []
        for range in ranges {
            guard let text = try Self.string(range, "subnet", invalid) else { continue }
            guard let subnet = IPNetwork(text) ?? InterfaceAddress(text)?.network else { throw invalid("invalid subnet '\(text)'") }
            let gateway = try Self.string(range, "gateway", invalid).map { text throws(CNIError) in
                guard let gateway = IPAddress(text), subnet.contains(gateway) else { throw invalid("invalid gateway '\(text)' for subnet \(subnet)") }
                return gateway
            }
            subnets.append((subnet, gateway))
        }
        for family in [IPFamily.v4, .v6] {
            let ofFamily = subnets.filter { $0.0.family == family }
            guard let subnet = ofFamily.first?.0 else { continue }
            if Set(ofFamily.map(\.0)).count > 1 {
                throw CNIError(.unsupportedField, "one subnet of each family a network: the configuration gives \(Set(ofFamily.map { $0.0.description }).sorted().joined(separator: ", "))")
            }
            spec.subnets.append(subnet)
            if let gateway = ofFamily.lazy.compactMap(\.1).first { spec.gateways.append(gateway) }
        }
        network = spec

        let runtime = json["runtimeConfig"] ?? json["args"]?["cni"] ?? [:]
        requestedAddresses = runtime["ips"]?.array?.compactMap(\.string) ?? arguments["IP"].map { [$0] } ?? []
        if let text = runtime["mac"]?.string ?? arguments["MAC"] {
            guard let mac = MACAddress(text) else { throw invalid("invalid mac '\(text)'") }
            self.mac = mac
        }
        if let bandwidth = runtime["bandwidth"] {
            ingress = try Self.tokenBucket(bandwidth, "ingress")
            egress = try Self.tokenBucket(bandwidth, "egress")
        }
        for mapping in runtime["portMappings"]?.array ?? [] { ports.append(try Self.port(mapping)) }
        prevResult = json["prevResult"]
        for entry in json["cni.dev/valid-attachments"]?.array ?? [] {
            guard let id = entry["containerID"]?.string, let interface = entry["ifname"]?.string else {
                throw invalid("cni.dev/valid-attachments entries need containerID and ifname")
            }
            validAttachments.insert(CNIContainer(containerID: id, interface: interface))
        }
    }

    /// `{ingressRate, ingressBurst, egressRate, egressBurst}` in bits a second and bits, as the
    /// bandwidth plugin takes them; the queue holds 25 ms at the rate on top of the burst, as there.
    private static func tokenBucket(_ bandwidth: JSON, _ direction: String) throws(CNIError) -> TokenBucket? {
        let rate = bandwidth["\(direction)Rate"]?.int ?? 0, burst = bandwidth["\(direction)Burst"]?.int ?? 0
        guard rate > 0 || burst > 0 else { return nil }
        guard rate >= 8, burst >= 8, burst / 8 <= Int64(UInt32.max) else {
            throw CNIError(.invalidConfiguration, "bandwidth: \(direction)Rate and \(direction)Burst must both be positive numbers of bits (burst below 32 Gbit)")
        }
        let rateBytes = UInt64(rate / 8), burstBytes = UInt32(burst / 8)
        return TokenBucket(bytesPerSecond: rateBytes, burstBytes: burstBytes, limitBytes: UInt32(clamping: rateBytes / 40 + UInt64(burstBytes)))
    }

    /// A `portMappings` entry: `{hostPort, containerPort, protocol, hostIP}`.
    private static func port(_ mapping: JSON) throws(CNIError) -> PortSpec {
        func invalid(_ message: String) -> CNIError { CNIError(.invalidConfiguration, "invalid portMappings entry \(mapping.serialized()): \(message)") }
        guard let hostPort = mapping["hostPort"]?.int, let containerPort = mapping["containerPort"]?.int,
              (1...65535).contains(hostPort), (1...65535).contains(containerPort) else { throw invalid("ports must be 1-65535") }
        let name = (mapping["protocol"]?.string ?? "tcp").lowercased()
        guard let transport = PortProtocol(rawValue: name) else { throw invalid("unknown protocol '\(name)'") }
        // No hostIP: every address of each family the container has; 0.0.0.0 or :: one family's.
        var hostAddress: IPAddress?
        if let text = mapping["hostIP"]?.string, !text.isEmpty {
            guard let address = IPAddress(text) else { throw invalid("hostIP must be an IPv4 or IPv6 address") }
            if let problem = PortSpec.unpublishable(address) { throw invalid(problem) }
            hostAddress = address
        }
        return PortSpec(hostAddress: hostAddress, hostPorts: PortRange(UInt16(hostPort)),
                        containerPorts: PortRange(UInt16(containerPort)), transport: transport)
    }

    private static func string(_ json: JSON, _ key: String, _ invalid: (String) -> CNIError) throws(CNIError) -> String? {
        guard let value = json[key], !value.isNull else { return nil }
        guard let text = value.string else { throw invalid("\(key) must be a string") }
        return text
    }

    private static func bool(_ json: JSON, _ key: String, _ invalid: (String) -> CNIError) throws(CNIError) -> Bool? {
        guard let value = json[key], !value.isNull else { return nil }
        guard let flag = value.bool else { throw invalid("\(key) must be true or false") }
        return flag
    }
}
