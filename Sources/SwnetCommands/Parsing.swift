import IPAM
import Netlink
import SwnetContainers
import SwnetCore

/// Typed values parsed at the edge, with one-line errors that name the bad input.
enum Parse {
    static func subnet(_ text: String) throws(UsageError) -> IPNetwork {
        guard let subnet = IPNetwork(text), text.contains("/") else {
            throw UsageError("invalid subnet '\(text)': expected CIDR like 10.0.0.0/24")
        }
        guard subnet.description == text || InterfaceAddress(text)?.address == subnet.address else {
            throw UsageError("invalid subnet '\(text)': host bits are set (did you mean \(subnet)?)")
        }
        return subnet
    }

    static func address(_ text: String) throws(UsageError) -> IPAddress {
        guard let address = IPAddress(text) else { throw UsageError("invalid IP address '\(text)'") }
        return address
    }

    static func mtu(_ text: String) throws(UsageError) -> UInt32 {
        guard let mtu = UInt32(text), (68...65535).contains(mtu) else {
            throw UsageError("invalid MTU '\(text)': must be a number between 68 and 65535")
        }
        return mtu
    }

    /// `NETWORK[:IP/LEN[,IP/LEN]]` or `NETWORK:dhcp[:OPTIONS]` of `swnet run --network`.
    static func networkChoice(_ text: String) throws(UsageError) -> RunRequest.NetworkChoice {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts[0].isEmpty else { throw UsageError("invalid network '\(text)': expected NETWORK[:IP/LEN[,IP/LEN]|:dhcp[:OPTIONS]]") }
        guard parts.count == 2 else { return RunRequest.NetworkChoice(network: String(parts[0])) }
        if let dhcp = try dhcp(String(parts[1])) {
            var choice = RunRequest.NetworkChoice(network: String(parts[0]))
            choice.dhcp = dhcp
            return choice
        }
        var addresses: [InterfaceAddress] = []
        for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            guard let address = InterfaceAddress(String(item)) else {
                throw UsageError("invalid address '\(item)' in --network \(text): expected IP/LEN like 10.0.0.5/24 or fd00::5/64, or dhcp[:OPTIONS]")
            }
            guard !addresses.contains(where: { $0.family == address.family }) else {
                throw UsageError("two \(address.family) addresses in --network \(text): give one per family")
            }
            addresses.append(address)
        }
        return RunRequest.NetworkChoice(network: String(parts[0]), addresses: addresses)
    }

    static func logLevel(_ text: String) throws(UsageError) -> LogLevel {
        guard let level = LogLevel(name: text) else { throw UsageError("invalid log level '\(text)': expected error, warn, info or debug") }
        return level
    }

    static func seconds(_ text: String) throws(UsageError) -> Int {
        guard let seconds = Int(text), seconds >= 0 else { throw UsageError("invalid time '\(text)': expected whole seconds") }
        return seconds
    }

    static func signal(_ text: String) throws(UsageError) -> Int32 {
        do { return try SignalName.parse(text) } catch { throw UsageError(error.message) }
    }

    static func portSpec(_ text: String) throws(UsageError) -> PortSpec {
        do { return try PortSpec(parsing: text) } catch { throw UsageError(error.message) }
    }

    static func portSpecs(_ texts: [String]) throws(UsageError) -> [PortSpec] {
        var specs: [PortSpec] = []
        for text in texts { specs.append(try portSpec(text)) }
        return specs
    }

    static func exposedPorts(_ text: String) throws(UsageError) -> ExposedPorts {
        do { return try ExposedPorts(parsing: text) } catch { throw UsageError(error.message) }
    }

    /// `--rate RATE[/BURST]`, in tc's units.
    static func rate(_ text: String) throws(UsageError) -> RateLimit {
        do { return try RateLimit(parsing: text) } catch { throw UsageError(error.message) }
    }

    static func macvlanMode(_ text: String) throws(UsageError) -> MacvlanMode {
        switch text {
        case "bridge": return .bridge
        case "private": return .private
        case "vepa": return .vepa
        case "passthru": return .passthru
        default: throw UsageError("invalid macvlan mode '\(text)': expected bridge, private, vepa or passthru")
        }
    }

    /// pipework's `dhcp[:OPTIONS]` (also spelt `udhcpc`); nil when `text` is no DHCP request.
    /// dhclient and dhcpcd are refused: their hooks write the host's /etc.
    static func dhcp(_ text: String) throws(UsageError) -> DHCPRequest? {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        switch parts[0] {
        case "dhcp", "udhcpc":
            return DHCPRequest(clientArguments: parts.count == 2 ? parts[1].split(separator: " ").map(String.init) : [])
        case "dhclient", "dhcpcd", "dhcp-client":
            throw UsageError("\(parts[0]) is not supported: swnet runs busybox udhcpc with its own script (use dhcp[:OPTIONS]), so no client hook can change the host's /etc")
        default:
            return nil
        }
    }
}
