import Foundation
import GRDB

/// ``SQLExecutor`` over a GRDB `DatabaseWriter`: SQLite, GRDB's transactions, its statement cache.
struct GRDBExecutor: SQLExecutor {
    let writer: any DatabaseWriter

    var dialect: SQLDialect { .sqlite }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await mappingErrorsAsync { try await writer.write { db in try body(GRDBConnection(db: db)) } }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await mappingErrorsAsync { try await writer.read { db in try body(GRDBConnection(db: db)) } }
    }

    func close() async throws {
        try mappingErrors { try writer.close() }
    }
}

/// ``SQLConnection`` over a GRDB `Database`, valid inside the GRDB access that gave it.
struct GRDBConnection: SQLConnection {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try mappingErrors {
            try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
            return db.changesCount
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try mappingErrors {
            let statement = try db.cachedStatement(sql: sql)
            let names = statement.columnNames
            return try Row.fetchAll(statement, arguments: Self.arguments(arguments)).map { row in
                SQLRow(names: names, values: row.databaseValues.map(Self.value))
            }
        }
    }

    private static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .integer(let integer): integer
                case .real(let real): real
                case .text(let text): text
                case .bytes(let bytes): Data(bytes)
                case .null: nil
                }
            }
        )
    }

    private static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(integer)
        case .double(let real): .real(real)
        case .string(let text): .text(text)
        case .blob(let data): .bytes([UInt8](data))
        }
    }
}
