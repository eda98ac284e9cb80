#if canImport(Glibc)
import Glibc
#endif

/// Small file helpers over the C library: the CLI avoids Foundation to keep start-up lean.
package enum Files {
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file, or nil when it does not exist.
    static func read(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw SystemError("open \(path)")
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try retryingOnInterrupt("read \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
        }
    }

    package static func readString(_ path: String) throws(SystemError) -> String? {
        try read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes through a temporary file and rename, so readers see the old or the new contents,
    /// never a torn file. `durable` adds fsync for state that must survive a power loss.
    static func writeAtomically(_ path: String, _ text: String, durable: Bool = false) throws(SystemError) {
        let temporary = try writeTemporary(for: path, text, durable: durable)
        if rename(temporary, path) != 0 {
            let error = SystemError("rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// Creates the file only if it does not exist yet; false when it already does. The atomic
    /// claim that names, leases and ports rely on: link(2) of a complete temporary file, so a
    /// process killed part-way never leaves an empty claim behind.
    package static func createExclusive(_ path: String, _ text: String) throws(SystemError) -> Bool {
        let temporary = try writeTemporary(for: path, text, durable: false)
        defer { unlink(temporary) }
        if link(temporary, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("create \(path)")
    }

    /// A hidden file next to `path` holding `text` (`list` skips it: a process killed before
    /// the rename or link leaves nothing that reads as state).
    private static func writeTemporary(for path: String, _ text: String, durable: Bool) throws(SystemError) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let temporary = "\(path[..<slash]).\(path[slash...]).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemError("create \(temporary)") }
        defer { close(fd) }
        do throws(SystemError) {
            try writeAll(fd, Array(text.utf8), path: temporary)
            if durable, fsync(fd) != 0 { throw SystemError("fsync \(temporary)") }
        } catch {
            unlink(temporary)
            throw error
        }
        return temporary
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try retryingOnInterrupt("write \(path)") {
                bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += written
        }
    }

    /// Removes a file; a missing file is not an error.
    package static func remove(_ path: String) throws(SystemError) {
        if unlink(path) != 0, errno != ENOENT { throw SystemError("remove \(path)") }
    }

    /// mkdir -p.
    package static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw SystemError("create directory \(path)")
        }
        try makeDirectories(String(path[..<slash]), mode: mode)
        if mkdir(path, mode) != 0, errno != EEXIST { throw SystemError("create directory \(path)") }
    }

    /// Names in a directory but "." and "..", without hidden ones (unfinished writes) unless
    /// asked; [] when it does not exist.
    static func list(_ path: String, includingHidden: Bool = false) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SystemError("list \(path)")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." && (includingHidden || !name.hasPrefix(".")) { names.append(name) }
        }
        return names
    }

    /// Removes the hidden temporary files (see `writeTemporary`) of writers that died before
    /// their rename or link, anywhere under `root`.
    static func removeAbandonedTemporaries(under root: String) throws(SystemError) {
        for name in try list(root, includingHidden: true) {
            let path = "\(root)/\(name)"
            if isDirectory(path) {
                try removeAbandonedTemporaries(under: path)
                continue
            }
            let parts = name.split(separator: ".")  // ".NAME.tmp.PID"
            guard name.hasPrefix("."), parts.count >= 3, parts[parts.count - 2] == "tmp", let writer = Int32(parts[parts.count - 1])
            else { continue }
            if kill(writer, 0) != 0 && errno == ESRCH { try remove(path) }
        }
    }
}
