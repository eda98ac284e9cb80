import Netlink

/// `--rate RATE[/BURST]`: a token bucket on both ends of a container's veth. The host side's
/// egress is the traffic into the container, the container side's egress the traffic out of it.
/// Units as tc takes them: a rate in bit/s (bare number or bit), kbit, mbit, gbit, tbit (powers
/// of 1000), kibit, mibit, gibit (powers of 1024), or bytes/s with bps, kbps, mbps, gbps; a burst
/// in bytes (bare or b), kb/k, mb/m, gb/g (powers of 1024).
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var bitsPerSecond: UInt64
    /// nil: 10 ms at the rate, at least 32 KiB (a GSO packet is up to 64 KiB; tbf splits larger ones).
    public var burstBytes: UInt32?

    public init(bitsPerSecond: UInt64, burstBytes: UInt32? = nil) {
        self.bitsPerSecond = bitsPerSecond
        self.burstBytes = burstBytes
    }

    public init(parsing text: String) throws(SwnetError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let rate = Self.number(parts[0], units: Self.rateUnits), rate >= 8, rate < 8 * Double(UInt64(1) << 40) else {
            throw SwnetError("invalid rate '\(parts[0])': expected a rate like 10mbit, 500kbit or 2mbps (at least 8bit)")
        }
        bitsPerSecond = UInt64(rate)
        if parts.count == 2 {
            guard let burst = Self.number(parts[1], units: Self.sizeUnits), burst >= 1, burst <= Double(UInt32.max) else {
                throw SwnetError("invalid burst '\(parts[1])': expected a size like 32kb or 64000")
            }
            burstBytes = UInt32(burst)
        }
    }

    public var description: String {
        let rate = bitsPerSecond % 1_000_000 == 0 ? "\(bitsPerSecond / 1_000_000)mbit"
            : bitsPerSecond % 1000 == 0 ? "\(bitsPerSecond / 1000)kbit" : "\(bitsPerSecond)bit"
        return burstBytes.map { "\(rate)/\($0)" } ?? rate
    }

    /// The tbf: the burst above, and a queue of 50 ms at the rate beyond it (tc's `latency 50ms`).
    var tokenBucket: TokenBucket {
        let bytesPerSecond = max(bitsPerSecond / 8, 1)
        let burst = burstBytes ?? UInt32(clamping: max(bytesPerSecond / 100, 32 * 1024))
        let queue = UInt32(clamping: bytesPerSecond / 20 + UInt64(burst))
        return TokenBucket(bytesPerSecond: bytesPerSecond, burstBytes: burst, limitBytes: queue)
    }

    private static let rateUnits: [(String, Double)] = [
        ("tbit", 1e12), ("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1),
        ("tibit", 1_099_511_627_776), ("gibit", 1_073_741_824), ("mibit", 1_048_576), ("kibit", 1024),
        ("gbps", 8e9), ("mbps", 8e6), ("kbps", 8e3), ("bps", 8), ("", 1),
    ]
    private static let sizeUnits: [(String, Double)] = [
        ("gb", 1_073_741_824), ("mb", 1_048_576), ("kb", 1024), ("g", 1_073_741_824), ("m", 1_048_576),
        ("k", 1024), ("b", 1), ("", 1),
    ]

    /// A non-negative decimal with one of `units` (case-insensitive) as suffix.
    private static func number(_ text: String, units: [(String, Double)]) -> Double? {
        let lowered = text.lowercased()
        let digits = lowered.prefix { $0.isASCIIDigit || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits), value.isFinite else { return nil }
        let suffix = lowered.dropFirst(digits.count)
        guard let scale = units.first(where: { $0.0 == suffix })?.1 else { return nil }
        return value * scale
    }
}

extension Swnet {
    /// Shapes both directions of a veth: host side (into the container), container side (out of it).
    func applyRate(_ rate: RateLimit, hostInterface: String, container: NetlinkHandle, inside: Link) throws {
        let bucket = rate.tokenBucket
        do {
            guard let host = try hostNetlink().link(named: hostInterface) else {
                throw SwnetError("host interface \(hostInterface) vanished")
            }
            try hostNetlink().setTokenBucket(interfaceIndex: host.index, bucket)
            try container.setTokenBucket(interfaceIndex: inside.index, bucket)
        } catch {
            throw SwnetError.during("limit \(inside.name) to \(rate)", error)
        }
    }
}
