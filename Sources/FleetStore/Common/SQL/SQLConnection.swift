/// The store's view of a database: statements run inside one transaction, on a thread that may block
/// (never an event loop). Written once, the store's logic runs on SQLite (GRDB) and on PostgreSQL alike.
///
/// SQL is written with `?` placeholders and double-quoted identifiers; ``dialect`` renders the few
/// constructs that differ (``SQLDialect``). Every error thrown is a ``StoreError``.
package protocol SQLConnection {
    var dialect: SQLDialect { get }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int

    /// Runs a statement and returns all its rows.
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLConnection {
    /// The first row of the result, or nil.
    package func queryOne(_ sql: String, _ arguments: [SQLValue]) throws -> SQLRow? {
        try query(sql, arguments).first
    }

    /// The first column of the first row as an integer (`SELECT COUNT(*) ...`), or nil when there is no row.
    package func queryInt(_ sql: String, _ arguments: [SQLValue]) throws -> Int64? {
        guard let row = try query(sql, arguments).first else { return nil }
        return try row.optionalInt64(row.firstColumnName)
    }
}

/// Runs transactions of a backend. A `Sendable` value; copies share the same connections.
package protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `body` in one read-write transaction, committed when it returns and rolled back when it throws.
    /// A backend may run `body` again when the database reports a serialization conflict, so `body` must only
    /// change the database (no other side effects).
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T

    /// Runs `body` in one read-only transaction (a consistent snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T

    /// Closes the connections; any later call throws.
    func close() async throws
}

/// `?, ?, ?`: the placeholders of an `IN (...)` list of `count` values.
package func sqlPlaceholders(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}

/// `values` in chunks of at most `size`, each with its placeholders, for `IN (...)` lists of any length (SQLite
/// binds at most 32,766 values in one statement, PostgreSQL 65,535).
package func sqlInListChunks<T>(_ values: [T], size: Int = 500) -> [(placeholders: String, values: [T])] {
    stride(from: 0, to: values.count, by: size).map { start in
        let chunk = Array(values[start..<min(start + size, values.count)])
        return (sqlPlaceholders(chunk.count), chunk)
    }
}
