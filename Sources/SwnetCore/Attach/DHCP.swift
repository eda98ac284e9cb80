#if canImport(Glibc)
import Glibc
#endif
import CSwnetLauncher
import Netlink

/// `dhcp[:OPTIONS]` of attach. The client is busybox's udhcpc, kept running in the foreground
/// inside the container's network namespace so it renews the lease for as long as the container
/// lives (pipework ran it once, and leases expired: pipework#111). Its event script is swnet's
/// own: it sets the address (with the lease as its lifetime) and the default route on the
/// container's interface and nothing else, so no hook can rewrite the host's /etc/resolv.conf,
/// the classic failure of dhclient/dhcpcd hooks run from the host's mount namespace. Why not a
/// client of our own: udhcpc is small, in Debian's busybox(-static), and handles the protocol's
/// corners (NAK, rebinding, ARP checks) that a new client would have to earn.
public struct DHCPRequest: Sendable, Equatable {
    /// Extra udhcpc arguments, from `dhcp:OPTIONS` split at blanks (e.g. `-x hostname:web`).
    public var clientArguments: [String]
    /// How long attach waits for the first lease before it gives up and undoes everything.
    public var timeout: Double

    public init(clientArguments: [String] = [], timeout: Double = 15) {
        self.clientArguments = clientArguments
        self.timeout = timeout
    }
}

extension Swnet {
    private var dhcpDirectory: String { "\(location.run)/dhcp" }

    /// The client's log (its own messages and one line per lease event from the script).
    func dhcpLogPath(_ attachment: LinkAttachment) -> String { "\(dhcpDirectory)/\(attachment.key).log" }
    /// Its event script: one per client, made and removed with it, so a failed attach leaves no file.
    func dhcpScriptPath(_ attachment: LinkAttachment) -> String { "\(dhcpDirectory)/\(attachment.key).sh" }

    /// Starts the client for the record's interface under a supervisor that stops it when the
    /// container goes (its process exits, or its namespace name is removed), then waits for the
    /// first lease. Returns the supervisor's PID and start time; on failure nothing is left running.
    func startDHCPClient(_ request: DHCPRequest, for attachment: LinkAttachment, target: ResolvedTarget) throws -> (Int32, UInt64?) {
        guard let busybox = Subprocess.findSystemTool("busybox") else {
            throw SwnetError("DHCP needs busybox (its udhcpc client); install busybox or busybox-static")
        }
        try Files.makeDirectories(dhcpDirectory, mode: 0o700)
        let script = dhcpScriptPath(attachment)
        let logPath = dhcpLogPath(attachment)
        var started = false
        defer { if !started { removeDHCPFiles(of: attachment) } }
        try Files.writeAtomically(script, Self.eventScript)
        guard chmod(script, 0o700) == 0 else { throw SystemError("chmod \(script)") }
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SystemError("create \(logPath)") }
        defer { close(log) }

        // -f: stay in the foreground and keep renewing; -R: release the lease when stopped.
        let arguments = [busybox, "udhcpc", "-f", "-R", "-i", attachment.containerInterface, "-s", script,
                         "-t", "5", "-T", "2", "-A", "5"] + request.clientArguments
        let watch = try containerWatch(target)
        defer { if watch.pidfd >= 0 { close(watch.pidfd) } }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { environment.forEach { free($0) } }
        let pid = swnet_spawn_supervised_in_netns(target.namespace.fd, watch.pidfd, watch.directory, watch.name,
                                                  argv, environment, log)
        guard pid > 0 else { throw SystemError("start udhcpc in \(target.label)", errno: -Int32(pid)) }
        let startTime = ProcessTable.startTime(of: pid)
        // Readable when the supervisor exits, i.e. when the client gave up; it cannot be
        // opened when both are gone already.
        let exited = swnet_pidfd_open(pid)
        defer { if exited >= 0 { close(exited) } }
        do {
            guard exited >= 0, startTime != nil else { throw SwnetError("the DHCP client exited at once") }
            try InterfaceWait.wait(for: attachment.containerInterface, timeout: request.timeout,
                                   namespace: target.namespace, abandonOn: exited)
        } catch {
            let clientSaid = Self.clientMessage(log: (try? Files.readString(logPath)) ?? "")
            let gaveUp = startTime == nil || ProcessTable.startTime(of: pid) != startTime
            stopDHCPClient(pid: pid, startTime: startTime)
            let reason = gaveUp ? "the client gave up" : "none within \(Int(request.timeout)) s"
            throw SwnetError("no DHCP lease for \(attachment.containerInterface) in \(target.label): \(reason) (\(clientSaid))")
        }
        started = true
        return (pid, startTime)
    }

    /// The line of the client's log that says why it gave up, on one line: its last, or with
    /// options it refused (dhcp:OPTIONS), its first, not the end of the usage text it prints then.
    static func clientMessage(log: String) -> String {
        let lines = log.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
            .filter { !$0.isEmpty }
        let refusedOptions = lines.contains { $0.hasPrefix("Usage: udhcpc") }
        return (refusedOptions ? lines.first : lines.last) ?? "no output"
    }

    /// Stops a client (its supervisor's process group), if it is still the process recorded,
    /// and waits briefly for it, so its lease release leaves before the interface goes.
    func stopDHCPClient(pid: Int32, startTime: UInt64?) {
        guard pid > 0, let startTime, ProcessTable.startTime(of: pid) == startTime else { return }
        let pidfd = swnet_pidfd_open(pid)
        Glibc.kill(-pid, SIGTERM)
        guard pidfd >= 0 else { return }
        var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, 2000)
        close(pidfd)
    }

    package func stopDHCPClient(of attachment: LinkAttachment) {
        if let pid = attachment.clientPID { stopDHCPClient(pid: pid, startTime: attachment.clientStartTime) }
        removeDHCPFiles(of: attachment)
    }

    private func removeDHCPFiles(of attachment: LinkAttachment) {
        try? Files.remove(dhcpLogPath(attachment))
        try? Files.remove(dhcpScriptPath(attachment))
    }

    /// What tells the supervisor that the container is gone: the process behind /proc/PID/ns/net
    /// (a pidfd, checked to still be in the target's namespace), else the namespace file's name.
    private func containerWatch(_ target: ResolvedTarget) throws -> (pidfd: Int32, directory: String?, name: String?) {
        let parts = target.path.split(separator: "/")
        if parts.count == 4, parts[0] == "proc", parts[2] == "ns", parts[3] == "net", let pid = Int32(parts[1]) {
            let pidfd = swnet_pidfd_open(pid)
            guard pidfd >= 0 else { throw SwnetError("\(target.label) exited") }
            guard (try? NetworkNamespace(path: target.path).identity) == target.namespace.identity else {
                close(pidfd)
                throw SwnetError("\(target.label) exited")
            }
            return (pidfd, nil, nil)
        }
        guard let slash = target.path.lastIndex(of: "/") else { return (-1, nil, nil) }
        let directory = String(target.path[..<slash])
        return (-1, directory.isEmpty ? "/" : directory, String(target.path[target.path.index(after: slash)...]))
    }

    /// udhcpc's event script. It runs in the container's network namespace (udhcpc's) and only
    /// changes $interface there; it writes no file. One line per event goes to the client's log.
    static let eventScript = """
        #!/bin/sh
        # swnet's udhcpc event script: configures $interface in the container's network namespace
        # and nothing else (no /etc/resolv.conf, no hooks).
        echo "swnet-dhcp: $1 ${ip:-} lease=${lease:-} at $(date +%s)"
        case "$1" in
        deconfig)
            ip -4 addr flush dev "$interface"
            ip link set dev "$interface" up
            ;;
        bound|renew)
            ip -4 -o addr show dev "$interface" | grep -q " $ip/$mask " || ip -4 addr flush dev "$interface"
            ip addr replace "$ip/$mask" dev "$interface" valid_lft "${lease:-forever}" preferred_lft "${lease:-forever}"
            if [ -n "${router:-}" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
            ;;
        esac
        exit 0

        """
}
