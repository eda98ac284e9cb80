import IPAM
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
}
