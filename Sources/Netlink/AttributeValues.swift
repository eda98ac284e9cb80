import IPAM
import NetlinkTransport

extension Attributes {
    func ipAddress(_ type: some BinaryInteger) -> IPAddress? { payload(type).flatMap { IPAddress(bytes: $0) } }
    func mac(_ type: some BinaryInteger) -> MACAddress? { payload(type).flatMap { MACAddress(bytes: $0) } }
}
