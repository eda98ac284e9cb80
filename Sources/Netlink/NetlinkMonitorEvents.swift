import CMnl
import Glibc

extension NetlinkMonitor {
    /// The rtnetlink multicast groups a monitor listens to.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let ipv4Addresses = Events(rawValue: UInt32(RTMGRP_IPV4_IFADDR))
        public static let ipv6Addresses = Events(rawValue: UInt32(RTMGRP_IPV6_IFADDR))
        /// Links appearing, going, and changing state (up, carrier).
        public static let links = Events(rawValue: UInt32(RTMGRP_LINK))
    }
}
