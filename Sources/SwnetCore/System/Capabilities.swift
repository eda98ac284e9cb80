import CCap

/// Capability checks through libcap, done before anything is touched so that a user without
/// privileges gets one clear line instead of a half-made change.
public enum Capabilities {
    public enum Capability: Sendable {
        case netAdmin, sysAdmin

        var value: cap_value_t {
            switch self {
            case .netAdmin: CAP_NET_ADMIN
            case .sysAdmin: CAP_SYS_ADMIN
            }
        }

        var name: String {
            switch self {
            case .netAdmin: "CAP_NET_ADMIN"
            case .sysAdmin: "CAP_SYS_ADMIN"
            }
        }
    }

    /// Whether the process holds `capability` in its effective set.
    public static func has(_ capability: Capability) -> Bool {
        guard let state = cap_get_proc() else { return false }
        defer { cap_free(UnsafeMutableRawPointer(state)) }
        var value = CAP_CLEAR
        guard cap_get_flag(state, capability.value, CAP_EFFECTIVE, &value) == 0 else { return false }
        return value == CAP_SET
    }

    /// Throws a one-line error naming the first missing capability.
    public static func require(_ capabilities: [Capability], for action: String) throws(SwnetError) {
        for capability in capabilities where !has(capability) {
            throw SwnetError.missingPrivilege(action: action, capability: capability.name)
        }
    }
}
