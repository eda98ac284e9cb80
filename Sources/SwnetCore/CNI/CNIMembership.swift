import JSON

/// What a CNI runtime knows an attachment by: its container id (with the attachment's
/// `containerInterface`, the runtime's CNI_IFNAME). DEL finds the attachment by it when the
/// runtime no longer has the namespace.
public struct CNIMembership: Sendable, Equatable {
    public var containerID: String
    /// Another plugin earlier in the chain made the interface and its address (a `prevResult`):
    /// swnet only publishes the container's ports and leaves link and address to that plugin.
    public var chained: Bool

    public init(containerID: String, chained: Bool = false) {
        self.containerID = containerID
        self.chained = chained
    }

    var json: JSON { ["containerID": .string(containerID), "chained": .bool(chained)] }

    init?(json: JSON) {
        guard let containerID = json["containerID"]?.string else { return nil }
        self.init(containerID: containerID, chained: json["chained"]?.bool ?? false)
    }
}

/// One container interface as the CNI verbs name it.
public struct CNIContainer: Sendable, Hashable {
    public var containerID: String
    public var interface: String

    public init(containerID: String, interface: String) {
        self.containerID = containerID
        self.interface = interface
    }
}

extension Attachment {
    func belongs(to container: CNIContainer) -> Bool {
        cni?.containerID == container.containerID && containerInterface == container.interface
    }
}
