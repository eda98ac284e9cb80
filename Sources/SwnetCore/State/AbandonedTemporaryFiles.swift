/// Files.writeAtomically writes `NAME.tmp.PID` and renames it; a process killed in between
/// leaves the temporary file. Every writer holds the state lock, so under the exclusive lock
/// any such file in a network's runtime directories is abandoned.
extension StateStore {
    func removeAbandonedTemporaryFiles(network: String) throws {
        let runtime = "\(location.run)/networks/\(network)"
        for directory in [runtime, "\(runtime)/attachments", "\(runtime)/leases"] {
            for name in try Files.list(directory) where name.contains(".tmp.") {
                try Files.remove("\(directory)/\(name)")
            }
        }
    }
}
