#if canImport(Glibc)
import Glibc
#endif

/// How much a command says about what it does, as syslog's priorities (journald reads the
/// number in a `<N>` prefix).
public enum LogLevel: Int32, Sendable, Comparable, CaseIterable {
    case error = 3
    case warning = 4
    case info = 6
    case debug = 7

    /// `error`, `warn`, `info`, `debug`: the words `--log-level` takes.
    public var name: String {
        switch self {
        case .error: "error"
        case .warning: "warn"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.name == name || (name == "warning" && $0 == .warning) }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The step-by-step account of the verbs that do many things (attach, network create and rm,
/// run, gc, overlay join and leave), on stderr. Silent below warnings unless the CLI raises the
/// level (`--log-level`, `--debug`); one-line errors stay the CLI's own.
public enum Log {
    /// Set once at start-up by the CLI, before any other thread exists.
    nonisolated(unsafe) public static var level: LogLevel = .warning

    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message()) }

    static func write(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level <= Log.level else { return }
        writeLogLine(level, message(), to: 2, plain: "swnet: \(level.name): ")
    }
}

/// One log line on `descriptor`: with journald's `<N>` priority prefix when the descriptor is
/// the journal's stream (systemd sets JOURNAL_STREAM to its device and inode), else with `plain`
/// before it. Written at once, so lines of concurrent writers do not mix.
public func writeLogLine(_ level: LogLevel, _ message: String, to descriptor: Int32, plain: String) {
    let line = (isJournalStream(descriptor) ? "<\(level.rawValue)>" : plain) + message + "\n"
    let bytes = Array(line.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

/// True when `descriptor` is the stream systemd connected to the journal: JOURNAL_STREAM is
/// `DEVICE:INODE` of it (a child writing elsewhere, e.g. to a file, must not prefix).
public func isJournalStream(_ descriptor: Int32) -> Bool {
    guard let variable = getenv("JOURNAL_STREAM") else { return false }
    let parts = String(cString: variable).split(separator: ":")
    var status = stat()
    guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]),
          fstat(descriptor, &status) == 0 else { return false }
    return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
}
