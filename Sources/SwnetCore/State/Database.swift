#if canImport(Glibc)
import Glibc
#endif
import CSQLite

/// A value bound to a statement parameter or read from a column.
enum SQLValue {
    case text(String)
    case integer(Int64)
    case null

    init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    init(_ number: Int64?) { self = number.map(SQLValue.integer) ?? .null }
}

/// One SQLite connection through the C API: statements are prepared once per process and
/// reused, so a command pays for parsing its SQL only on first use.
final class Database {
    private let handle: OpaquePointer
    /// Prepared once per process, by their SQL.
    private(set) var statements: [String: OpaquePointer] = [:]

    init(path: String) throws(SwnetError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw .state("open \(path): \(message)")
        }
        self.handle = handle
        // Writers are serialized by the state lock; this only covers a reader that meets a commit.
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs SQL without parameters or results (schema, pragmas, transaction control).
    func execute(_ sql: String) throws(SwnetError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        if status != SQLITE_OK { throw failure(sql) }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: SQLValue...) throws(SwnetError) -> Int {
        try run(sql, values)
    }

    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws(SwnetError) -> Int {
        let statement = try prepared(sql, values)
        defer { sqlite3_reset(statement) }
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE || status == SQLITE_ROW else { throw failure(sql) }
        return Int(sqlite3_changes(handle))
    }

    /// Calls `row` for every result row of a query.
    func query(_ sql: String, _ values: SQLValue..., row: (Row) throws -> Void) throws {
        try query(sql, values, row: row)
    }

    func query(_ sql: String, _ values: [SQLValue], row: (Row) throws -> Void) throws {
        let statement = try prepared(sql, values)
        defer { sqlite3_reset(statement) }
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw failure(sql) }
            try row(Row(statement: statement))
        }
    }

    private func prepared(_ sql: String, _ values: [SQLValue]) throws(SwnetError) -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            var made: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &made, nil) == SQLITE_OK, let made else {
                throw failure(sql)
            }
            statements[sql] = made
            statement = made
        }
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .text(let text):
                text.utf8CString.withUnsafeBufferPointer { bytes in
                    swnet_sqlite_bind_text(statement, index, bytes.baseAddress, Int32(bytes.count - 1))
                }
            case .integer(let number): sqlite3_bind_int64(statement, index, number)
            case .null: sqlite3_bind_null(statement, index)
            }
        }
        return statement
    }

    private func failure(_ sql: String) -> SwnetError {
        .state("\(String(cString: sqlite3_errmsg(handle))) (in \(sql.prefix(60)))")
    }

    /// One result row; columns by position.
    struct Row {
        fileprivate let statement: OpaquePointer

        func text(_ column: Int32) -> String {
            guard let bytes = sqlite3_column_text(statement, column) else { return "" }
            return String(cString: bytes)
        }

        func optionalText(_ column: Int32) -> String? {
            sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : text(column)
        }

        func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

        func optionalInteger(_ column: Int32) -> Int64? {
            sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : integer(column)
        }
    }
}
