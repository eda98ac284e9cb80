import Netlink

/// Rules for Linux interface names and the names swnet derives.
public enum InterfaceNames {
    /// IFNAMSIZ is 16 including the terminating NUL.
    public static let maximumLength = 15

    /// Throws a one-line error unless the kernel would accept `name` as an interface name.
    public static func validate(_ name: String, role: String) throws(SwnetError) {
        if name.isEmpty { throw SwnetError.invalid("\(role) name is empty") }
        if name.utf8.count > maximumLength {
            throw SwnetError.invalid("\(role) name '\(name)' is longer than \(maximumLength) bytes")
        }
        if name == "." || name == ".." { throw SwnetError.invalid("\(role) name '\(name)' is not allowed") }
        if name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7f }) {
            throw SwnetError.invalid("\(role) name '\(name)' contains '/', ':', blanks or control characters")
        }
    }

    static func isValid(_ name: String) -> Bool {
        (try? validate(name, role: "")) != nil
    }

    static let hostSidePrefix = "sw"
    /// The link group (IFLA_GROUP) of every host side swnet makes, whatever its name (`-l`):
    /// how the bridge table tells swnet's ports (addBridgeRules). "sw" in its high bytes.
    static let hostSideGroup: UInt32 = 0x7377_0001

    /// The host side of a container's veth: deterministic for a namespace and network, so a
    /// re-run finds it, and short enough for IFNAMSIZ (pipework's `v<if>pl<PID>` is not).
    static func hostSide(namespaceID: NamespaceIdentity, network: String) -> String {
        let hash = StableHash.fnv1a("\(namespaceID)/\(network)")
        return hostSidePrefix + String(hash & 0xff_ffff_ffff, radix: 16).leftPadded(to: 10)
    }

    /// A MAC derived from `seed` (the `U:STRING` form): stable across runs and machines,
    /// locally administered and unicast.
    package static func stableMAC(seed: String) -> MACAddress {
        let hash = StableHash.fnv1a(seed)
        var bytes: [UInt8] = [0x02]
        for shift in stride(from: 32, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift))) }
        return MACAddress(bytes: bytes)!
    }
}

/// FNV-1a: Swift's Hasher is seeded per process, and names must be the same on every run.
enum StableHash {
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
