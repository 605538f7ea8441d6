/// The differences between SQLite and PostgreSQL the store meets, in one place.
///
/// Store SQL is written once, with `?` placeholders, double-quoted identifiers and these helpers for the
/// constructs whose spelling differs.
package struct SQLDialect: Sendable, Equatable, CustomStringConvertible {
    private enum Engine: String { case sqlite, postgres }
    private let engine: Engine

    package static let sqlite = SQLDialect(engine: .sqlite)
    package static let postgres = SQLDialect(engine: .postgres)

    package var description: String { engine.rawValue }

    /// `sql` with its `?` placeholders as the engine wants them: unchanged for SQLite, `$1`, `$2`, ... for
    /// PostgreSQL. Question marks inside quoted strings and identifiers are left alone.
    package func render(_ sql: String) -> String {
        guard engine == .postgres else { return sql }
        var rendered = ""
        rendered.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                rendered.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                rendered.append(character)
            } else if character == "?" {
                number += 1
                rendered += "$\(number)"
            } else {
                rendered.append(character)
            }
        }
        return rendered
    }

    /// The larger of two values: SQLite's two-argument `MAX`, PostgreSQL's `GREATEST`. The two differ on NULL
    /// (SQLite returns NULL, PostgreSQL ignores it): give only non-NULL operands (wrap nullable ones in `COALESCE`).
    package func greatest(_ first: String, _ second: String) -> String {
        switch engine {
        case .sqlite: "MAX(\(first), \(second))"
        case .postgres: "GREATEST(\(first), \(second))"
        }
    }

    /// The sum of an integer expression, read back as an integer on both engines: SQLite's `SUM` of integers is one,
    /// PostgreSQL's `SUM` of a BIGINT is a NUMERIC, cast back to BIGINT. NULL over no rows, like `SUM` (wrap it in
    /// `COALESCE(…, 0)` for zero).
    package func integerSum(_ expression: String) -> String {
        switch engine {
        case .sqlite: "SUM(\(expression))"
        case .postgres: "CAST(SUM(\(expression)) AS BIGINT)"
        }
    }

    /// The text value of `key` in a column holding a JSON object, NULL when the object has no such key:
    /// SQLite's `json_extract` with the path as the argument, PostgreSQL's `->>` with the key as the argument.
    /// `key` is a label name (no double quote).
    package func jsonTextField(_ column: String, key: String) -> (sql: String, argument: SQLValue) {
        switch engine {
        case .sqlite: ("json_extract(\"\(column)\", ?)", .text("$.\"\(key)\""))
        case .postgres: ("(\"\(column)\"::jsonb ->> CAST(? AS TEXT))", .text(key))
        }
    }

    /// The column type of bytes: `BLOB` or `BYTEA`.
    package var bytesType: String {
        switch engine {
        case .sqlite: "BLOB"
        case .postgres: "BYTEA"
        }
    }

    /// The column type of integers (dates in milliseconds among them): 64-bit in both.
    package var integerType: String {
        switch engine {
        case .sqlite: "INTEGER"
        case .postgres: "BIGINT"
        }
    }

    /// An integer primary key the database numbers, increasing and never reused.
    package var autoIncrementKey: String {
        switch engine {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        }
    }

    /// `INSERT` that skips rows conflicting with a unique constraint: `INSERT OR IGNORE INTO t ...` in SQLite,
    /// `INSERT INTO t ... ON CONFLICT DO NOTHING` in PostgreSQL. `rest` is the column list and `VALUES (...)`.
    package func insertIgnoringConflicts(into table: String, _ rest: String) -> String {
        switch engine {
        case .sqlite: "INSERT OR IGNORE INTO \"\(table)\" \(rest)"
        case .postgres: "INSERT INTO \"\(table)\" \(rest) ON CONFLICT DO NOTHING"
        }
    }

    /// `INSERT` of one row that replaces the row holding the same `key` (the table's primary key or a unique index):
    /// `INSERT INTO t (c, …) VALUES (?, …) ON CONFLICT (key) DO UPDATE SET c = excluded.c, …` over every column
    /// outside `key`, the arguments bound in the order of `columns`. SQLite (3.24 on) and PostgreSQL spell it alike.
    /// Unlike SQLite's `INSERT OR REPLACE` (a delete, then an insert) the row is updated in place: no `ON DELETE
    /// CASCADE` fires, a conflict on another unique index is an error, and columns not listed keep their value, so
    /// list them all.
    package func upsert(into table: String, columns: [String], key: [String]) -> String {
        let quoted = { (names: [String]) in names.map { "\"\($0)\"" }.joined(separator: ", ") }
        let updated = columns.filter { !key.contains($0) }
        let onConflict =
            updated.isEmpty
            ? "DO NOTHING"
            : "DO UPDATE SET " + updated.map { "\"\($0)\" = excluded.\"\($0)\"" }.joined(separator: ", ")
        return "INSERT INTO \"\(table)\" (\(quoted(columns))) VALUES (\(sqlPlaceholders(columns.count))) "
            + "ON CONFLICT (\(quoted(key))) \(onConflict)"
    }

    /// A statement to run first in a transaction that appends to a log whose sequence numbers readers page
    /// through (the event log): it makes such transactions commit in the order of the numbers they took, so that
    /// a reader that saw number N never later sees a smaller one appear. SQLite has one writer at a time; in
    /// PostgreSQL a transaction-scoped advisory lock does it.
    package func appendOrderLock(_ key: Int64) -> String? {
        switch engine {
        case .sqlite: nil
        case .postgres: "SELECT pg_advisory_xact_lock(\(key))"
        }
    }
}
