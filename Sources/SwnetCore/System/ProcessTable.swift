/// Facts about processes from /proc.
package enum ProcessTable {
    /// Field 22 of /proc/PID/stat: when a live process started, in clock ticks since boot; nil
    /// when there is no such process or only its zombie (whose parent may never reap it).
    /// With the pid, it names a process: a reused pid never passes for the one recorded.
    package static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? Files.readString("/proc/\(pid)/stat"),
              let afterName = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may itself contain spaces and parentheses.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }
}
