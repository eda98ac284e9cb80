#if canImport(Glibc)
import Glibc
#endif
import CMnl
import NetlinkTransport

extension NetlinkRequest {
    /// Hairpin mode on a bridge port: the bridge may send a frame back out of the port it came
    /// in by (what a container reaching its own published port needs when br_netfilter bridges it).
    public static func setBridgePortHairpin(interfaceIndex: Int32, _ enabled: Bool) -> NetlinkRequest {
        var message = MessageBuilder(type: UInt16(RTM_SETLINK), flags: NLM_F_ACK)
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        header.ifi_index = interfaceIndex
        message.putStruct(header)
        // Nested and flagged so: an unflagged IFLA_PROTINFO is the old binary STP state.
        message.nest(UInt16(IFLA_PROTINFO) | UInt16(NLA_F_NESTED)) { port in
            port.put(IFLA_BRPORT_MODE, u8: enabled ? 1 : 0)
        }
        return NetlinkRequest(message, operation: "set hairpin on bridge port \(interfaceIndex)")
    }
}

extension NetlinkHandle {
    public func setBridgePortHairpin(interfaceIndex: Int32, _ enabled: Bool) throws(NetlinkError) {
        try execute(.setBridgePortHairpin(interfaceIndex: interfaceIndex, enabled))
    }
}
