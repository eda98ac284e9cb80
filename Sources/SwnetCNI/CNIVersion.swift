/// The spec versions swnet-cni speaks, and what each allows.
enum CNIVersion {
    static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    static let latest = "1.1.0"

    static func check(_ version: String) throws(CNIError) {
        guard supported.contains(version) else {
            throw CNIError(.incompatibleVersion, "cniVersion \(version) is not supported (\(supported.joined(separator: ", ")))")
        }
    }

    /// Whether `version` is at least `minimum` (both from `supported`).
    static func isAtLeast(_ version: String, _ minimum: String) -> Bool {
        (supported.firstIndex(of: version) ?? 0) >= (supported.firstIndex(of: minimum) ?? 0)
    }

    /// Results before 1.0.0 name each address's family ("version": "4").
    static func namesAddressFamily(_ version: String) -> Bool { !isAtLeast(version, "1.0.0") }
}
