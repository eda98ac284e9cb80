/// Why an address or pool was refused; descriptions are meant to be shown to the user as they are.
public enum IPAMError: Error, Sendable, Equatable, CustomStringConvertible {
    case outsideSubnet(IPAddress, IPNetwork)
    /// `reason` names the role that makes the address unassignable, e.g. "the broadcast address".
    case reserved(IPAddress, reason: String)
    case familyMismatch(IPAddress, IPNetwork)
    case exhausted(IPNetwork)
    case gatewayOutsideSubnet(IPAddress, IPNetwork)
    case subnetTooSmall(IPNetwork)

    public var description: String {
        switch self {
        case .outsideSubnet(let address, let subnet):
            "\(address) is outside subnet \(subnet)"
        case .reserved(let address, let reason):
            "\(address) is reserved as \(reason)"
        case .familyMismatch(let address, let subnet):
            "\(address) is an \(address.family) address but subnet \(subnet) is \(subnet.family)"
        case .exhausted(let subnet):
            "no free addresses left in subnet \(subnet)"
        case .gatewayOutsideSubnet(let gateway, let subnet):
            "gateway \(gateway) is outside subnet \(subnet)"
        case .subnetTooSmall(let subnet):
            "subnet \(subnet) is too small: no address is left to assign"
        }
    }
}
