// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top: C system libraries (libmnl, libnftnl, libcap, SQLite) and shims → NetlinkTransport → kernel bindings (Netlink, NFTables)
// and pure-Swift IPAM/JSON → SwnetCore (the verbs) → SwnetOverlay (multi-host), SwnetContainers (the container runtime)
// → SwnetCommands (CLI) → swnet (main).
let package = Package(
    name: "swnet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swnet", targets: ["swnet"]),
        .executable(name: "swnet-cni", targets: ["swnet-cni"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "IPAM", targets: ["IPAM"]),
        .library(name: "NFTables", targets: ["NFTables"]),
        .library(name: "BPF", targets: ["BPF"]),
        .library(name: "SwnetCore", targets: ["SwnetCore"]),
        .library(name: "SwnetOverlay", targets: ["SwnetOverlay"]),
        .library(name: "SwnetContainers", targets: ["SwnetContainers"]),
    ],
    targets: [
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // C by job: kernel helpers for the bindings, the container launcher (the one user of
        // libcap's C API besides capability checks, linked once through CCap), TLS.
        .target(name: "CSwnetShims", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "CSwnetLauncher", dependencies: ["CCap"], cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "CSwnetTLS", cSettings: [.define("_GNU_SOURCE")]),
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // The fast path's eBPF C (programs/, built by scripts/gen-bpf.sh into fastpath.skel.h) and its loader.
        .target(name: "CSwnetBPF", dependencies: ["CLibbpf"], exclude: ["programs"], cSettings: [.define("_GNU_SOURCE")]),

        .target(name: "IPAM"),
        .target(name: "JSON"),
        .target(name: "Etcd", dependencies: ["JSON", "CSwnetTLS"]),
        // Opening netlink sockets in a namespace, sequenced request/reply, dump retry, extended
        // acks: what rtnetlink (Netlink), nftables and conntrack share.
        .target(name: "NetlinkTransport", dependencies: ["CMnl", "CSwnetShims"]),
        .target(name: "Netlink", dependencies: ["NetlinkTransport", "CMnl", "CSwnetShims", "IPAM"]),
        .target(name: "BPF", dependencies: ["CSwnetBPF", "IPAM", "Netlink"]),
        .target(name: "NFTables", dependencies: ["NetlinkTransport", "CNftnl", "CMnl", "IPAM"]),
        // SQLite from Debian's static archive (libsqlite3-dev ships one): a shared library less
        // for the dynamic loader at every start.
        .target(name: "SwnetCore", dependencies: ["Netlink", "NFTables", "BPF", "IPAM", "JSON", "Etcd", "CCap", "CSwnetShims", "CSwnetLauncher", "CSQLite"],
                linkerSettings: [.linkedLibrary(":libsqlite3.a")]),
        // Multi-host overlays: configuration and registrations in etcd, joining, the agent
        // (its decisions a pure function, AgentCore, driven by an I/O loop) and the data plane.
        .target(name: "SwnetOverlay", dependencies: ["SwnetCore", "Netlink", "IPAM", "JSON", "Etcd", "CSwnetLauncher"]),
        // The container runtime (run, ps, exec, stop, rm, logs, inspect): the launcher, a detached
        // container's monitor, container records; it attaches and publishes through the verbs,
        // which resolve its names and sweep its records through the ContainerRegistry it gives them.
        .target(name: "SwnetContainers", dependencies: ["SwnetCore", "Netlink", "IPAM", "JSON", "CCap", "CSwnetLauncher"]),
        .target(name: "SwnetCommands", dependencies: ["SwnetCore", "SwnetOverlay", "SwnetContainers", "IPAM", "JSON", "Etcd"], plugins: ["BuildCommit"]),
        // `swnet --version` names the git commit it was built from.
        .plugin(name: "BuildCommit", capability: .buildTool()),
        .executableTarget(name: "swnet", dependencies: ["SwnetCommands", "SwnetContainers"]),
        // The CNI plugin: spec types and verbs over SwnetCore, and its two-line main.
        .target(name: "SwnetCNI", dependencies: ["SwnetCore", "Netlink", "IPAM", "JSON"]),
        .executableTarget(name: "swnet-cni", dependencies: ["SwnetCNI"]),
        // Drives the library in one process for scripts/bench.sh; not installed.
        .executableTarget(name: "swnet-bench", dependencies: ["SwnetCore", "SwnetOverlay", "Netlink", "IPAM", "Etcd"]),

        .testTarget(name: "IPAMTests", dependencies: ["IPAM"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "EtcdTests", dependencies: ["Etcd", "SwnetTestSupport"]),
        // Shared by the privileged test suites: the capability gate, spawning tools in namespaces.
        .target(name: "SwnetTestSupport", path: "Tests/SwnetTestSupport"),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "NetlinkTransport", "IPAM", "CSwnetShims", "SwnetTestSupport"]),
        .testTarget(name: "BPFTests", dependencies: ["BPF", "Netlink", "IPAM", "CSwnetShims", "SwnetTestSupport"]),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables", "NetlinkTransport", "IPAM", "Netlink", "SwnetTestSupport"]),
        .testTarget(name: "SwnetCoreTests", dependencies: ["SwnetCore", "SwnetOverlay", "Netlink", "IPAM", "JSON"]),
        .testTarget(name: "SwnetOverlayTests", dependencies: ["SwnetOverlay", "SwnetCore", "Etcd", "Netlink", "NetlinkTransport", "CMnl", "IPAM", "JSON"]),
        .testTarget(name: "SwnetContainersTests", dependencies: ["SwnetContainers", "SwnetCore", "Netlink", "IPAM", "JSON"]),
        .testTarget(name: "SwnetCommandsTests", dependencies: ["SwnetCommands", "SwnetCore", "SwnetOverlay"]),
        .testTarget(name: "SwnetCNITests", dependencies: ["SwnetCNI", "IPAM", "JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
