#if canImport(Glibc)
import Glibc
#endif
import Netlink

/// `swnet wait`, for a container's entrypoint: returns once the interface is usable, which is
/// more than existing (pipework's --wait returned for a link that was still down, #243): up,
/// with carrier (the host side of its veth is up too), and with an address that finished
/// duplicate address detection. It listens to link and address notifications instead of
/// polling, subscribing before the first look so no change falls between the two.
public enum InterfaceWait {
    /// What is still missing, nil when the interface is ready.
    static func missing(_ name: String, netlink: NetlinkHandle) throws -> String? {
        guard let link = try netlink.link(named: name) else { return "it does not exist" }
        guard link.isUp else { return "it is down" }
        guard link.flags & lowerUpFlag != 0 else { return "it has no carrier" }
        let usable = try netlink.addresses(interfaceIndex: link.index).contains {
            $0.scope != linkScope && $0.flags & tentativeFlag == 0
        }
        return usable ? nil : "it has no address"
    }

    /// Waits up to `timeout` seconds in `namespace` (default: the current one); throws with
    /// what was missing. `abandonOn`, a descriptor that becomes readable when waiting is pointless
    /// (a pidfd of the process that was to bring the interface up), ends the wait at once.
    public static func wait(for name: String, timeout: Double, namespace: NetworkNamespace? = nil,
                            abandonOn abandon: Int32 = -1) throws {
        try InterfaceNames.validate(name, role: "interface")
        let monitor = try NetlinkMonitor(namespace: namespace, events: [.links, .ipv4Addresses, .ipv6Addresses])
        let netlink = try namespace.map { try NetlinkHandle(namespace: $0) } ?? NetlinkHandle()
        let deadline = now() + timeout
        while true {
            guard let missing = try missing(name, netlink: netlink) else { return }
            let remaining = deadline - now()
            guard remaining > 0 else {
                throw SwnetError("interface \(name) not ready after \(formatted(timeout)) s: \(missing)")
            }
            var descriptors = [pollfd(fd: monitor.fileDescriptor, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: abandon, events: Int16(POLLIN), revents: 0)]
            _ = poll(&descriptors, 2, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if descriptors[1].revents != 0 { throw SwnetError("interface \(name) not ready: waiting was abandoned") }
            _ = monitor.drain()
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func formatted(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// IFF_LOWER_UP: the driver reports carrier.
    private static let lowerUpFlag: UInt32 = 0x10000
    /// IFA_F_TENTATIVE: IPv6 DAD not finished, the address not usable yet.
    private static let tentativeFlag: UInt32 = 0x40
    private static let linkScope: UInt8 = 253
}
