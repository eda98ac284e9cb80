#if canImport(Glibc)
import Glibc
#endif
import IPAM
import JSON

/// Where swnet keeps its state. Network definitions live under `lib` and persist; leases and
/// attachments live under `run` and are runtime state that must not outlive a reboot.
public struct StateLocation: Sendable, Equatable {
    public var lib: String
    public var run: String

    public init(lib: String, run: String) {
        self.lib = lib
        self.run = run
    }

    /// `root` (from --root), else $SWNET_ROOT, puts everything under one directory;
    /// otherwise the system defaults.
    public static func resolve(root: String?) -> StateLocation {
        let chosen = root ?? getenv("SWNET_ROOT").map { String(cString: $0) }
        if let chosen, !chosen.isEmpty {
            return StateLocation(lib: "\(chosen)/lib", run: "\(chosen)/run")
        }
        return StateLocation(lib: "/var/lib/swnet", run: "/run/swnet")
    }
}

/// Opens state transactions. Two SQLite databases on one connection: `run/state.db`
/// (runtime: attachments, leases, publications, containers) and `lib/networks.db` (network
/// definitions), attached as `lib`, so one transaction can change both atomically.
/// Every transaction holds `run/lock` (flock) for its whole life: commands queue in the
/// kernel instead of polling SQLite's busy handler, and `gc`, holding it, knows that any
/// `pending` record it sees belongs to a process that died.
package final class StateStore {
    let location: StateLocation
    private var database: Database?
    private var lockDescriptor: Int32 = -1
    private var inTransaction = false
    private var prepared = false

    init(location: StateLocation) {
        self.location = location
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    /// Runs `body` in a transaction under the exclusive lock: everything it writes is
    /// committed when it returns, and nothing is when it throws (besides what it committed
    /// on purpose with `commitPending`, which its undo steps then remove).
    package func write<T>(_ body: (borrowing StateTransaction) throws -> T) throws -> T {
        try transaction(exclusive: true, body)
    }

    /// Runs `body` on a consistent view of the state, under the shared lock.
    package func read<T>(_ body: (borrowing StateTransaction) throws -> T) throws -> T {
        try transaction(exclusive: false, body)
    }

    private func transaction<T>(exclusive: Bool, _ body: (borrowing StateTransaction) throws -> T) throws -> T {
        // The transaction is the lock: a function that needs it takes one as a parameter, so
        // opening a second one inside the first is a mistake in swnet, never a wait.
        precondition(!inTransaction, "a state transaction is already open in this process")
        inTransaction = true
        defer { inTransaction = false }
        try lock(exclusive ? LOCK_EX : LOCK_SH)
        defer { flock(lockDescriptor, LOCK_UN) }
        let database = try openDatabase()
        let transaction = StateTransaction(database: database, location: location, undo: UndoSteps())
        try database.execute(exclusive ? "BEGIN IMMEDIATE" : "BEGIN")
        if !prepared {
            do { try prepare(database, exclusive: exclusive) } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
        }
        do {
            let result = try body(transaction)
            try database.execute("COMMIT")
            return result
        } catch {
            try? database.execute("ROLLBACK")
            try? transaction.undoCommittedWork()
            throw error
        }
    }

    private func lock(_ operation: Int32) throws(SystemError) {
        if lockDescriptor < 0 {
            try Files.makeDirectories(location.run)
            let path = "\(location.run)/lock"
            lockDescriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            if lockDescriptor < 0 { throw SystemError("open lock \(path)") }
        }
        while flock(lockDescriptor, operation) != 0 {
            if errno != EINTR { throw SystemError("lock \(location.run)/lock") }
        }
    }

    /// The connection, opened on the first transaction.
    private func openDatabase() throws -> Database {
        if let database { return database }
        try Files.makeDirectories(location.lib)
        let database = try Database(path: "\(location.run)/state.db")
        // Rollback journals, not WAL: a commit that changes both files is atomic only then.
        // The runtime file lives on a tmpfs and dies with the boot: no fsync. Definitions do.
        try database.run("ATTACH DATABASE ? AS lib", .text("\(location.lib)/networks.db"))
        try database.execute("""
            PRAGMA main.journal_mode = TRUNCATE; PRAGMA main.synchronous = OFF;
            PRAGMA lib.journal_mode = TRUNCATE; PRAGMA lib.synchronous = FULL;
            """)
        self.database = database
        return database
    }

    /// Once per process, inside the first transaction (no extra lock or commit when all is
    /// well): the tables exist, and the runtime state is this boot's. Runtime state written
    /// during an earlier boot is dropped: /run is a tmpfs by default, but --root may point
    /// anywhere, so the boot id decides. A reader that finds work to do takes the lock
    /// exclusively for it (flock converts by dropping the shared lock: all of it is idempotent).
    private func prepare(_ database: Database, exclusive: Bool) throws {
        let currentBoot = try Files.readString("/proc/sys/kernel/random/boot_id") ?? ""
        if try StateSchema.isCurrent(in: database, boot: currentBoot) {
            prepared = true
            return
        }
        if !exclusive {
            try database.execute("ROLLBACK")
            try lock(LOCK_EX)
            try database.execute("BEGIN IMMEDIATE")
        }
        try StateSchema.create(in: database)
        if try StateSchema.bootID(in: database) != currentBoot {
            try StateSchema.dropRuntimeState(in: database, newBoot: currentBoot)
        }
        // Committed now: a body that fails must not take the tables with it.
        try database.execute("COMMIT")
        if !exclusive { try lock(LOCK_SH) }
        try database.execute(exclusive ? "BEGIN IMMEDIATE" : "BEGIN")
        prepared = true
    }
}

/// Work committed before a command finished (`commitPending`), and how to take it back if
/// the command then fails.
final class UndoSteps {
    var steps: [(borrowing StateTransaction) throws -> Void] = []
}

/// An open transaction on swnet's state, and the proof that the state lock is held: every
/// read and write of the state is a method here. Not copyable, so it cannot outlive the
/// `StateStore.write`/`read` call that made it.
package struct StateTransaction: ~Copyable {
    let database: Database
    let location: StateLocation
    fileprivate let undo: UndoSteps

    /// Commits what is written so far and goes on in a new transaction, the lock still held:
    /// records marked pending survive a crash from here on, for `swnet gc` to clean. If the
    /// command fails later, `undo` runs (in a transaction of its own) to remove them; without
    /// one, the undo steps registered so far cover what is committed.
    func commitPending(undo step: ((borrowing StateTransaction) throws -> Void)? = nil) throws {
        try database.execute("COMMIT; BEGIN IMMEDIATE")
        if let step { undo.steps.append(step) }
    }

    fileprivate func undoCommittedWork() throws {
        guard !undo.steps.isEmpty else { return }
        try database.execute("BEGIN IMMEDIATE")
        do {
            for step in undo.steps.reversed() { try step(self) }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }
}

/// The tables, created on first use; `user_version` tells a file that has them.
enum StateSchema {
    static let version: Int64 = 6

    /// Whether both files have the current tables and the runtime state is from `boot`.
    static func isCurrent(in database: Database, boot: String) throws -> Bool {
        var versions: [Int64] = []
        try database.query("PRAGMA main.user_version") { versions.append($0.integer(0)) }
        try database.query("PRAGMA lib.user_version") { versions.append($0.integer(0)) }
        return try versions == [version, version] && bootID(in: database) == boot
    }

    /// In the caller's write transaction.
    static func create(in database: Database) throws {
        try migrateCursors(in: database)
        try database.execute("""
            CREATE TABLE IF NOT EXISTS lib.networks (
                name TEXT PRIMARY KEY, bridge TEXT NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS lib.networks_by_bridge ON networks (bridge);
            PRAGMA lib.user_version = \(version);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS attachments (
                network TEXT NOT NULL, namespace TEXT NOT NULL, cni_container TEXT, record TEXT NOT NULL,
                PRIMARY KEY (network, namespace)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS attachments_by_namespace ON attachments (namespace);
            CREATE INDEX IF NOT EXISTS attachments_by_cni_container ON attachments (network, cni_container);
            CREATE TABLE IF NOT EXISTS leases (
                network TEXT NOT NULL, address TEXT NOT NULL, owner TEXT NOT NULL,
                PRIMARY KEY (network, address)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS cursors (
                network TEXT NOT NULL, family INTEGER NOT NULL, address TEXT NOT NULL,
                PRIMARY KEY (network, family)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS released (
                network TEXT NOT NULL, address TEXT NOT NULL, PRIMARY KEY (network, address)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS publications (
                protocol TEXT NOT NULL, host_port INTEGER NOT NULL, host_address TEXT NOT NULL,
                container_address TEXT NOT NULL, container_port INTEGER NOT NULL,
                network TEXT NOT NULL, namespace TEXT NOT NULL, target TEXT NOT NULL,
                PRIMARY KEY (protocol, host_port, host_address)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS publications_by_namespace ON publications (namespace, network);
            CREATE INDEX IF NOT EXISTS publications_by_network ON publications (network);
            -- Versions 4 and 5 wrote '' for every address; every address is now 0.0.0.0 or ::, one per family.
            UPDATE publications SET host_address = '0.0.0.0' WHERE host_address = '';
            CREATE TABLE IF NOT EXISTS link_attachments (
                namespace TEXT NOT NULL, interface TEXT NOT NULL, network TEXT, host_interface TEXT, record TEXT NOT NULL,
                PRIMARY KEY (namespace, interface)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS link_attachments_by_network ON link_attachments (network);
            CREATE INDEX IF NOT EXISTS link_attachments_by_host_interface ON link_attachments (host_interface);
            CREATE TABLE IF NOT EXISTS containers (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, namespace TEXT, record TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS containers_by_namespace ON containers (namespace);
            PRAGMA main.user_version = \(version);
            """)
    }

    /// Version 4 kept one allocation cursor per network; dual stack keeps one per network and
    /// family (4 or 6). The old cursors carry over, their family read from the address.
    private static func migrateCursors(in database: Database) throws {
        var oldShape = false
        try database.query("""
            SELECT count(*) FROM main.sqlite_master WHERE name = 'cursors'
                AND NOT EXISTS (SELECT 1 FROM pragma_table_info('cursors', 'main') WHERE name = 'family')
            """) { oldShape = $0.integer(0) == 1 }
        guard oldShape else { return }
        try database.execute("""
            ALTER TABLE cursors RENAME TO cursors_v4;
            CREATE TABLE cursors (
                network TEXT NOT NULL, family INTEGER NOT NULL, address TEXT NOT NULL,
                PRIMARY KEY (network, family)) WITHOUT ROWID;
            INSERT INTO cursors SELECT network, CASE WHEN instr(address, ':') > 0 THEN 6 ELSE 4 END, address FROM cursors_v4;
            DROP TABLE cursors_v4;
            """)
    }

    static func bootID(in database: Database) throws -> String? {
        var boot: String?
        try database.query("SELECT value FROM meta WHERE key = 'boot-id'") { boot = $0.text(0) }
        return boot
    }

    /// A new boot: the kernel objects the runtime records describe are gone. Container records
    /// stay (as exited); the rest of the runtime state goes. In the caller's write transaction.
    static func dropRuntimeState(in database: Database, newBoot: String) throws {
        try database.execute("""
            DELETE FROM attachments; DELETE FROM leases; DELETE FROM cursors; DELETE FROM publications; DELETE FROM released;
            DELETE FROM link_attachments;
            """)
        try database.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('boot-id', ?)", .text(newBoot))
    }
}
