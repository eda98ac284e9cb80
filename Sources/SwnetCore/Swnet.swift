import BPF
import Netlink
import NFTables

/// The entry point for scripting swnet from Swift: every verb of the CLI is a method here.
/// One instance works on one state location and one "host" network namespace (the current
/// one unless given, which is how tests run everything inside throwaway namespaces).
public final class Swnet {
    public let location: StateLocation
    public let resolver: TargetResolver
    package let store: StateStore
    package let hostNamespace: NetworkNamespace?
    private var cachedHostHandle: NetlinkHandle?
    var cachedFirewall: NFTablesHandle?
    var cachedFastPathObjects: FastPathObjects?
    /// The container runtime whose names resolve as targets and whose records gc sweeps; the
    /// CLI's instances have swnet's own (SwnetContainers).
    package var containerRegistry: (any ContainerRegistry)?
    /// Whether new attachments go on the eBPF fast path (where the kernel can).
    public var usesFastPath = FastPathSetting.fromEnvironment()

    public init(location: StateLocation, hostNamespace: NetworkNamespace? = nil, resolver: TargetResolver = TargetResolver()) {
        self.location = location
        self.resolver = resolver
        self.hostNamespace = hostNamespace
        store = StateStore(location: location)
    }

    /// Netlink in the host namespace, opened on first use.
    package func hostNetlink() throws -> NetlinkHandle {
        if let cachedHostHandle { return cachedHostHandle }
        let handle = try hostNamespace.map { try NetlinkHandle(namespace: $0) } ?? NetlinkHandle()
        cachedHostHandle = handle
        return handle
    }

    /// Privileges every verb that changes the kernel needs: netlink writes, and entering
    /// other namespaces.
    package func requireNetworkPrivileges(for action: String) throws {
        try Capabilities.require([.netAdmin, .sysAdmin], for: action)
    }
}
