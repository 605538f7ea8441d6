/// A value bound to, or read from, a SQL statement: the few types every TinyFleet table uses, the same in
/// SQLite and PostgreSQL. Dates are stored as `integer` milliseconds (``StoredDate``), booleans as 0/1.
package enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])
    case null

    package init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
    package init(_ value: Int) { self = .integer(Int64(value)) }
    package init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    package init(_ value: [UInt8]) { self = .bytes(value) }
}

/// One result row: its values by column name, as the statement named them.
package struct SQLRow: Sendable {
    private let names: [String]
    private let values: [SQLValue]

    package init(names: [String], values: [SQLValue]) {
        self.names = names
        self.values = values
    }

    /// The value of `column`; a column the statement did not select is a programming error reported as `corrupt`.
    package func value(_ column: String) throws -> SQLValue {
        guard let index = names.firstIndex(of: column) else {
            throw StoreError.corrupt.with(
                "no column \(column) in the result (columns: \(names.joined(separator: ", ")))"
            )
        }
        return values[index]
    }

    /// The name of the first column, for single-value queries.
    package var firstColumnName: String { names.first ?? "" }

    package func int64(_ column: String) throws -> Int64 {
        guard let value = try optionalInt64(column) else { throw mismatch(column, "an integer", .null) }
        return value
    }

    package func optionalInt64(_ column: String) throws -> Int64? {
        switch try value(column) {
        case .integer(let value): return value
        case .null: return nil
        case let other: throw mismatch(column, "an integer", other)
        }
    }

    package func int(_ column: String) throws -> Int {
        let value = try int64(column)
        guard let narrowed = Int(exactly: value) else { throw mismatch(column, "an Int", .integer(value)) }
        return narrowed
    }

    package func string(_ column: String) throws -> String {
        guard let value = try optionalString(column) else { throw mismatch(column, "text", .null) }
        return value
    }

    package func optionalString(_ column: String) throws -> String? {
        switch try value(column) {
        case .text(let value): return value
        case .null: return nil
        case let other: throw mismatch(column, "text", other)
        }
    }

    package func double(_ column: String) throws -> Double {
        guard let value = try optionalDouble(column) else { throw mismatch(column, "a number", .null) }
        return value
    }

    /// A REAL column's value; an integer is taken as its double (SQLite may hand back a whole REAL either way).
    package func optionalDouble(_ column: String) throws -> Double? {
        switch try value(column) {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        case .null: return nil
        case let other: throw mismatch(column, "a number", other)
        }
    }

    package func bytes(_ column: String) throws -> [UInt8] {
        switch try value(column) {
        case .bytes(let value): return value
        case let other: throw mismatch(column, "bytes", other)
        }
    }

    private func mismatch(_ column: String, _ expected: String, _ found: SQLValue) -> StoreError {
        StoreError.corrupt.with("column \(column) holds \(found), expected \(expected)")
    }
}
