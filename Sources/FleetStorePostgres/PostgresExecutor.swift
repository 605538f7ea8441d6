import FleetStore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// ``SQLExecutor`` over postgres-nio's `PostgresClient` (its connection pool).
///
/// The store's logic is synchronous (one implementation for SQLite and PostgreSQL), so each transaction leases a
/// connection and runs on a thread of `threadPool`, never on an event loop: each statement is sent on the
/// connection and the thread waits for its result, as GRDB's threads wait for SQLite.
///
/// Write transactions are SERIALIZABLE, so several coordinators writing at once see the outcomes of SQLite's one
/// writer at a time; one that loses a serialization conflict is run again (up to ``maximumAttempts`` times, then
/// `busy`). Reads run in a REPEATABLE READ, READ ONLY transaction: one snapshot.
struct PostgresExecutor: SQLExecutor {
    static let maximumAttempts = 5

    let client: PostgresClient
    let threadPool: NIOThreadPool
    let logger: Logger
    /// For `fleetctl`'s reads: every write throws `readOnly`, as the SQLite store opened read-only does.
    var readOnly = false

    var dialect: SQLDialect { .postgres }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        guard !readOnly else { throw StoreError.readOnly.with("this PostgreSQL store was opened for reading") }
        var attempt = 1
        while true {
            switch try await transaction(begin: "BEGIN ISOLATION LEVEL SERIALIZABLE", body) {
            case .committed(let value):
                return value
            case .conflict(let error):
                guard attempt < Self.maximumAttempts else { throw error }
                attempt += 1
            }
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        switch try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", body) {
        case .committed(let value): return value
        case .conflict(let error): throw error
        }
    }

    /// Nothing to close here: the client's connections close when the task running it ends
    /// (``PostgresCoordinatorStore/withStore(_:logger:_:)``).
    func close() async throws {}

    private enum Outcome<T: Sendable>: Sendable {
        case committed(T)
        case conflict(StoreError)
    }

    private func transaction<T: Sendable>(
        begin: String,
        _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> Outcome<T> {
        let logger = self.logger
        let threadPool = self.threadPool
        do {
            return try await client.withConnection { connection in
                try await threadPool.runIfActive { () throws -> Outcome<T> in
                    let blocking = BlockingPostgresConnection(connection: connection, logger: logger)
                    do {
                        try blocking.execute(begin, [])
                        let value = try body(blocking)
                        try blocking.execute("COMMIT", [])
                        return .committed(value)
                    } catch {
                        _ = try? blocking.execute("ROLLBACK", [])
                        if let conflict = blocking.serializationFailure { return .conflict(conflict) }
                        throw error
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw PostgresErrors.storeError(error)
        }
    }
}

/// ``SQLConnection`` over one leased `PostgresConnection`, used from one thread-pool thread for one transaction:
/// each statement waits for its result (never call it on an event loop).
final class BlockingPostgresConnection: SQLConnection {
    private let connection: PostgresConnection
    private let logger: Logger
    /// Set when the server reported a serialization failure or deadlock: the transaction may be run again.
    private(set) var serializationFailure: StoreError?

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var dialect: SQLDialect { .postgres }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        return try result.rows.map { row in
            var names: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                names.append(cell.columnName)
                values.append(try Self.value(cell))
            }
            return SQLRow(names: names, values: values)
        }
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .text(let text): bindings.append(text)
            case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .null: bindings.appendNull()
            }
        }
        let query = PostgresQuery(unsafeSQL: SQLDialect.postgres.render(sql), binds: bindings)
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            let mapped = PostgresErrors.storeError(error)
            if PostgresErrors.isSerializationFailure(error) { serializationFailure = mapped }
            throw mapped
        }
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard let bytes = cell.bytes else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea: return .bytes(Array(bytes.readableBytesView))
            default: return .text(try cell.decode(String.self))
            }
        } catch {
            throw StoreError.corrupt.with("column \(cell.columnName) of type \(cell.dataType) cannot be read: \(error)")
        }
    }
}
