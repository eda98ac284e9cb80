import JSON
import SwnetCore

struct PublishCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "A container, or a namespace swnet attached.", completes: .targets)
    static let specs = Argument<[String]>(variadic: "PORT", help: "[HOST_IP:][HOST_PORT[-END]:]PORT[-END][/tcp|udp|sctp]")
    static let publishAll = Option<Bool>(flag: "publish-all", short: "P", help: "Publish the exposed ports of a podman/docker container, or --expose-from's.")
    static let exposeFrom = Option<String?>("expose-from", value: "FILE", help: "Exposed ports from a Dockerfile or an image config (JSON).", completes: .files)
    static let network = Option<String?>("network", value: "NETWORK", help: "Which attachment, when the target is on several networks.", completes: .networks)

    static let definition = CommandDefinition(
        "publish", abstract: "Publish ports of an attached container: host address and port to container port, through nftables maps.",
        discussion: """
        As Docker: without HOST_IP a port is published on every host address of each family \
        the container has an address of (0.0.0.0 and [::]); 0.0.0.0 or [::] publish on one \
        family only; an IPv6 HOST_IP goes in brackets ([2001:db8::1]:8080:80). The host \
        reaches them on 127.0.0.1 and [::1] too; 127.0.0.1 or [::1] as HOST_IP publish for \
        the host alone.
        """,
        usage: "swnet publish TARGET PORT... | -P [--expose-from FILE] [--network NETWORK]",
        arguments: [target, specs], options: GlobalOptions.declarations + [publishAll, exposeFrom, network] + OutputOptions.declarations,
        runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let target: String
    let specs: [PortSpec]
    let publishAll: Bool
    let exposeFrom: String?
    let network: String?

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        target = values[Self.target]
        specs = try Parse.portSpecs(values[Self.specs])
        publishAll = values[Self.publishAll]
        exposeFrom = values[Self.exposeFrom]
        network = values[Self.network]
        if specs.isEmpty && !values[Self.publishAll] { throw UsageError("publish needs PORT specs or -P") }
    }

    func run() throws {
        let swnet = global.makeSwnet()
        var specs = specs
        if publishAll {
            let exposed = if let exposeFrom { try ExposedPorts.fromFile(exposeFrom) } else { try swnet.exposedPorts(ofEngineContainer: target) }
            for port in exposed { specs.append(PortSpec(containerPorts: port.ports, transport: port.transport)) }
        }
        let publications = try swnet.publish(target, specs: specs, network: network)
        printPublications(publications, json: output.json)
    }
}

struct UnpublishCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "A container, or a namespace swnet attached.", completes: .targets)
    static let specs = Argument<[String]>(variadic: "PORT", help: "Ports to remove (host or container side); none: all.")

    static let definition = CommandDefinition(
        "unpublish", abstract: "Remove published ports of a container.",
        arguments: [target, specs], options: GlobalOptions.declarations + OutputOptions.declarations, runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let target: String
    let specs: [PortSpec]

    init(from values: ParsedValues) throws(UsageError) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        target = values[Self.target]
        specs = try Parse.portSpecs(values[Self.specs])
    }

    func run() throws {
        printPublications(try global.makeSwnet().unpublish(target, specs: specs), json: output.json)
    }
}

struct PortCommand: RunnableCommand {
    static let target = Argument<String>("TARGET", help: "A container, or a namespace swnet attached.", completes: .targets)

    static let definition = CommandDefinition(
        "port", abstract: "List a container's published ports.",
        arguments: [target], options: GlobalOptions.declarations + OutputOptions.declarations, runs: Self.self)

    let global: GlobalOptions
    let output: OutputOptions
    let target: String

    init(from values: ParsedValues) {
        global = GlobalOptions(values)
        output = OutputOptions(values)
        target = values[Self.target]
    }

    func run() throws {
        printPublications(try global.makeSwnet().publications(of: target), json: output.json)
    }
}

/// Docker's `port` format: `80/tcp -> 0.0.0.0:32768`.
func printPublications(_ publications: [Publication], json: Bool) {
    if json {
        print(JSON.array(publications.map(\.json)).serialized(pretty: true))
        return
    }
    for publication in publications {
        print("\(publication.containerPort)/\(publication.portProtocol.rawValue) -> \(publication.hostAddress.withPortSeparator):\(publication.hostPort)")
    }
}
