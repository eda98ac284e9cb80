#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON
import Netlink
import SwnetCore

/// The `swnet-cni` executable: one CNI verb a run, configuration on stdin, result or error as
/// JSON on stdout, a log line on stderr when something fails.
public enum CNIPlugin {
    public static func run() -> Int32 {
        // Run by hand (no runtime set CNI_COMMAND): say what this is, as the reference plugins
        // do, instead of waiting on a terminal's stdin.
        if CNIEnvironment.read("CNI_COMMAND").map(\.isEmpty) ?? true {
            let about = "swnet-cni: the swnet CNI plugin (docs/cni.md)\nCNI protocol versions supported: "
                + CNIVersion.supported.joined(separator: ", ") + "\n"
            _ = about.withCString { write(2, $0, strlen($0)) }
            return 0
        }
        let input = StandardInput.readAll()
        let document = NetworkConfiguration.parse(input)
        let requested = (try? document.get())?["cniVersion"]?.string
        var version = requested.flatMap { CNIVersion.supported.contains($0) ? $0 : nil } ?? CNIVersion.latest
        var command = ""
        do {
            let environment = try CNIEnvironment.fromProcess()
            command = environment.command.rawValue
            if environment.command == .version {
                let supported = JSON.array(CNIVersion.supported.map { .string($0) })
                print(JSON.object(["cniVersion": .string(requested ?? CNIVersion.latest), "supportedVersions": supported]).serialized())
                return 0
            }
            let configuration = try NetworkConfiguration(document, arguments: environment.arguments)
            version = configuration.cniVersion
            let invocation = Invocation(environment: environment, configuration: configuration, input: input)
            if let result = try invocation.run() { print(result.json(version: version).serialized()) }
            return 0
        } catch {
            let failure: CNIError = switch error {
            case let error as CNIError: error
            case let error as CNIUnknownContainer: CNIError(.unknownContainer, error.description)
            default: CNIError(.swnetFailure, "\(error)")
            }
            print(failure.json(cniVersion: version).serialized())
            let context = [command, CNIEnvironment.read("CNI_CONTAINERID") ?? ""].filter { !$0.isEmpty }
            let line = "swnet-cni: " + (context.isEmpty ? "" : context.joined(separator: " ") + ": ") + failure.message + "\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            return 1
        }
    }
}

/// One verb, with what the runtime passed.
private struct Invocation {
    let environment: CNIEnvironment
    let configuration: NetworkConfiguration
    let input: [UInt8]
    let swnet: Swnet

    init(environment: CNIEnvironment, configuration: NetworkConfiguration, input: [UInt8]) {
        self.environment = environment
        self.configuration = configuration
        self.input = input
        swnet = Swnet(location: .resolve(root: configuration.stateRoot))
    }

    var container: CNIContainer { CNIContainer(containerID: environment.containerID, interface: environment.interface) }
    var networkName: String { configuration.network.name }

    func run() throws -> CNIResult? {
        switch environment.command {
        case .add:
            return try add()
        case .del:
            try swnet.cniDelete(container, network: networkName, netns: environment.netns)
            if let ipam = delegatedIPAM { _ = try ipam.run(.del, configuration: input) }
        case .check:
            try require("0.4.0", for: "CHECK")
            try swnet.cniCheck(container, network: networkName, netns: environment.netns)
        case .gc:
            try require("1.1.0", for: "GC")
            try swnet.cniCollect(network: networkName, valid: configuration.validAttachments)
        case .status:
            try require("1.1.0", for: "STATUS")
            if delegatedIPAM != nil && configuration.network.subnets.isEmpty { return nil }
            if let reason = try swnet.cniUnreadiness(configuration.network) { throw CNIError(.cannotServeAdd, reason) }
        case .version:
            break
        }
        return nil
    }

    private var delegatedIPAM: DelegatedIPAM? {
        configuration.delegatedIPAM.map { DelegatedIPAM(type: $0, pluginPath: environment.pluginPath) }
    }

    private func require(_ minimum: String, for verb: String) throws(CNIError) {
        guard CNIVersion.isAtLeast(configuration.cniVersion, minimum) else {
            throw CNIError(.incompatibleVersion, "\(verb) needs cniVersion \(minimum) or later, the configuration says \(configuration.cniVersion)")
        }
    }

    private func add() throws -> CNIResult {
        if let previous = configuration.prevResult, previous["interfaces"] != nil {
            return try addAfterAnotherPlugin(try CNIResult(parsing: previous, what: "prevResult"))
        }
        guard let ipam = delegatedIPAM else { return try attach(addresses: [], spec: configuration.network, dns: nil) }
        guard let output = try ipam.run(.add, configuration: input) else { throw CNIError(.swnetFailure, "IPAM plugin \(ipam.type) gave no result") }
        do {
            let given = try CNIResult(parsing: output, what: "the result of IPAM plugin \(ipam.type)")
            let ips = Self.onePerFamily(given.ips)
            guard !ips.isEmpty else { throw CNIError(.swnetFailure, "IPAM plugin \(ipam.type) gave no address") }
            var spec = configuration.network
            if spec.subnets.isEmpty { spec.subnets = ips.map(\.address.network) }
            if spec.gateways.isEmpty { spec.gateways = ips.compactMap(\.gateway) }
            return try attach(addresses: ips.map(\.address), spec: spec, dns: given.dns)
        } catch {
            _ = try? ipam.run(.del, configuration: input)
            throw error
        }
    }

    /// The first address of each family, IPv4 first.
    private static func onePerFamily(_ ips: [CNIResult.IPConfig]) -> [CNIResult.IPConfig] {
        [IPFamily.v4, .v6].compactMap { family in ips.first { $0.address.family == family } }
    }

    /// The usual ADD: swnet makes the veth pair on its network, with the addresses and ports.
    private func attach(addresses given: [InterfaceAddress], spec: CNINetworkSpec, dns: JSON?) throws -> CNIResult {
        let network: NetworkDefinition, created: Bool
        do { (network, created) = try swnet.cniNetwork(spec) } catch let error as SwnetError {
            throw CNIError(.invalidConfiguration, error.message)
        }
        do { return try attach(to: network, addresses: given, dns: dns) } catch {
            // The first ADD made the network: a failed one leaves none (unless another ADD is on it now).
            if created { try? swnet.removeNetworks([network.name], force: false) }
            throw error
        }
    }

    private func attach(to network: NetworkDefinition, addresses given: [InterfaceAddress], dns: JSON?) throws -> CNIResult {
        var addresses = given
        if addresses.isEmpty {
            // `ips`: an address, or an address with its prefix, of each family wanted.
            for text in configuration.requestedAddresses {
                guard let requested = InterfaceAddress(text) ?? IPAddress(text).flatMap({ address in
                    network.subnet(address.family).flatMap { InterfaceAddress(address: address, prefixLength: $0.prefixLength) }
                }) else {
                    throw CNIError(.invalidConfiguration, "invalid requested address '\(text)' for network \(network.name)")
                }
                addresses.append(requested)
            }
        }
        let request = CNIAddRequest(container: container, netns: environment.netns, addresses: addresses, mac: configuration.mac,
                                    mtu: configuration.mtu, ports: configuration.ports,
                                    ingress: configuration.ingress, egress: configuration.egress, hairpin: configuration.hairpin)
        let made = try swnet.cniAdd(request, network: network)
        var result = CNIResult()
        result.interfaces = [
            .init(name: network.bridge, mac: made.bridge?.mac?.description, mtu: made.bridge?.mtu, sandbox: nil),
            .init(name: made.attachment.hostInterface, mac: made.hostLink?.mac?.description, mtu: made.hostLink?.mtu, sandbox: nil),
            .init(name: made.attachment.containerInterface, mac: made.attachment.mac?.description, mtu: made.attachment.mtu, sandbox: environment.netns),
        ]
        result.ips = made.attachment.addresses.map { .init(address: $0, gateway: network.gateway($0.family), interface: 2) }
        result.routes = made.defaultRoutes.map { .init(destination: IPNetwork(address: .unspecified($0.family), prefixLength: 0)!, gateway: $0) }
        result.dns = configuration.raw["dns"] ?? dns ?? [:]
        return result
    }

    /// Chained after a plugin that made the interface (bridge): swnet records the container on
    /// a network adopting that bridge and publishes its ports; the result passes through.
    private func addAfterAnotherPlugin(_ previous: CNIResult) throws -> CNIResult {
        let interfaces = previous.interfaces
        guard let inside = interfaces.firstIndex(where: { $0.sandbox != nil && $0.name == environment.interface }) else {
            throw CNIError(.invalidConfiguration, "prevResult lists no interface \(environment.interface) inside the container")
        }
        let ips = Self.onePerFamily(previous.ips.filter { $0.interface == inside })
            .nonEmpty ?? Self.onePerFamily(previous.ips.filter { $0.interface == nil })
        guard !ips.isEmpty else {
            throw CNIError(.invalidConfiguration, "prevResult gives \(environment.interface) no address to publish ports to")
        }
        let netlink = try NetlinkHandle()
        var bridge: String?
        var hostSide: String?
        for interface in interfaces where interface.sandbox == nil {
            switch try netlink.link(named: interface.name)?.kind {
            case .bridge?: bridge = interface.name
            case .veth?: hostSide = interface.name
            default: continue
            }
        }
        guard let bridge, let hostSide else {
            throw CNIError(.unsupportedField, "swnet-cni chains after a plugin that makes a bridge and a veth pair (bridge); prevResult lists \(interfaces.map(\.name).joined(separator: ", "))")
        }
        try swnet.cniPublish(container, netns: environment.netns, network: networkName,
                             interface: CNIChainedInterface(bridge: bridge, hostInterface: hostSide, addresses: ips.map(\.address),
                                                            gateways: ips.compactMap(\.gateway)),
                             ports: configuration.ports)
        return previous
    }
}

private extension Array {
    var nonEmpty: Self? { isEmpty ? nil : self }
}
