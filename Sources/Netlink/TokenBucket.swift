import CMnl
import Glibc

/// A token bucket filter (tbf) qdisc: shapes a link's egress to `bytesPerSecond`, letting
/// bursts of up to `burstBytes` through at line rate, and queueing at most `limitBytes`.
public struct TokenBucket: Sendable, Equatable {
    public var bytesPerSecond: UInt64
    public var burstBytes: UInt32
    public var limitBytes: UInt32

    public init(bytesPerSecond: UInt64, burstBytes: UInt32, limitBytes: UInt32) {
        self.bytesPerSecond = bytesPerSecond
        self.burstBytes = burstBytes
        self.limitBytes = limitBytes
    }
}

/// RTM_NEWQDISC for a tbf at the root of a link.
enum TokenBucketMessage {
    static func replaceRoot(interfaceIndex: Int32, _ bucket: TokenBucket) -> MessageBuilder {
        var message = MessageBuilder(type: UInt16(RTM_NEWQDISC), flags: NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK)
        var header = tcmsg()
        header.tcm_family = UInt8(AF_UNSPEC)
        header.tcm_ifindex = interfaceIndex
        header.tcm_handle = 0x1_0000  // 1:
        header.tcm_parent = UInt32(bitPattern: -1)  // TC_H_ROOT
        message.putStruct(header)
        message.put(TCA_KIND, string: "tbf")
        message.nest(TCA_OPTIONS) { options in
            var parameters = tc_tbf_qopt()
            // Link-layer aware (Ethernet): the kernel computes packet times itself, no rate table needed.
            parameters.rate.linklayer = UInt8(TC_LINKLAYER_ETHERNET.rawValue)
            parameters.rate.rate = UInt32(clamping: bucket.bytesPerSecond)
            parameters.limit = bucket.limitBytes
            withUnsafeBytes(of: parameters) { options.put(TCA_TBF_PARMS, bytes: Array($0)) }
            if bucket.bytesPerSecond >= UInt64(UInt32.max) {
                withUnsafeBytes(of: bucket.bytesPerSecond) { options.put(TCA_TBF_RATE64, bytes: Array($0)) }
            }
            // The burst in bytes; the kernel derives the bucket's time depth from it and the rate.
            options.put(TCA_TBF_BURST, u32: bucket.burstBytes)
        }
        return message
    }
}

extension NetlinkRequest {
    /// Puts a tbf at the root of the link's egress, replacing the root qdisc there.
    public static func setTokenBucket(interfaceIndex: Int32, _ bucket: TokenBucket) -> NetlinkRequest {
        NetlinkRequest(TokenBucketMessage.replaceRoot(interfaceIndex: interfaceIndex, bucket),
                       operation: "set tbf rate limit on link \(interfaceIndex)")
    }
}

extension NetlinkHandle {
    public func setTokenBucket(interfaceIndex: Int32, _ bucket: TokenBucket) throws(NetlinkError) {
        try execute(.setTokenBucket(interfaceIndex: interfaceIndex, bucket))
    }
}
