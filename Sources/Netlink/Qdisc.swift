#if canImport(Glibc)
import Glibc
#endif
import CMnl
import NetlinkTransport

/// A token bucket (tc-tbf) as an interface's root qdisc: it shapes what the interface sends to
/// `rate` bytes a second, letting `burst` bytes pass at once and queueing up to `limit` bytes.
public struct TokenBucket: Sendable, Equatable {
    public var rate: UInt64
    public var burst: UInt32
    public var limit: UInt32

    public init(rate: UInt64, burst: UInt32, limit: UInt32) {
        self.rate = rate
        self.burst = burst
        self.limit = limit
    }
}

enum QdiscMessage {
    /// The root qdisc replaced by a tbf. The burst goes as TCA_TBF_BURST and the rate as
    /// TCA_TBF_RATE64, so the kernel computes the buffer itself (no rate table, no psched ticks).
    static func replaceRoot(interfaceIndex: Int32, with bucket: TokenBucket) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWQDISC), flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        var header = tcmsg()
        header.tcm_family = UInt8(AF_UNSPEC)
        header.tcm_ifindex = interfaceIndex
        header.tcm_handle = 0x1_0000
        header.tcm_parent = UInt32.max   // TC_H_ROOT
        message.putStruct(header)
        message.put(TCA_KIND, string: "tbf")
        message.nest(TCA_OPTIONS) { options in
            var parameters = tc_tbf_qopt()
            parameters.rate.rate = UInt32(clamping: bucket.rate)
            parameters.rate.linklayer = UInt8(TC_LINKLAYER_ETHERNET.rawValue)
            parameters.limit = bucket.limit
            options.put(TCA_TBF_PARMS, bytes: withUnsafeBytes(of: parameters) { Array($0) })
            options.put(TCA_TBF_RATE64, bytes: withUnsafeBytes(of: bucket.rate) { Array($0) })
            options.put(TCA_TBF_BURST, u32: bucket.burst)
        }
        return message
    }
}

extension NetlinkRequest {
    public static func setRootTokenBucket(interfaceIndex: Int32, _ bucket: TokenBucket) -> NetlinkRequest {
        NetlinkRequest(QdiscMessage.replaceRoot(interfaceIndex: interfaceIndex, with: bucket),
                       operation: "set tbf qdisc on link \(interfaceIndex)")
    }
}

extension NetlinkHandle {
    public func setRootTokenBucket(interfaceIndex: Int32, _ bucket: TokenBucket) throws(NetlinkError) {
        try execute(.setRootTokenBucket(interfaceIndex: interfaceIndex, bucket))
    }
}
