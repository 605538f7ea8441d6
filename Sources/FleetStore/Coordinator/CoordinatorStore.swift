import GRDB

/// The coordinator's state: enrolment tokens, devices, the event log, models and their delivery, metering,
/// observability, rounds and rollouts, in one SQLite database (or, for the parts ported so far, PostgreSQL: see
/// `FleetStorePostgres`).
///
/// A `Sendable` value around one database connection (a WAL `DatabasePool` on disk); copies share it.
/// Every method is `async` and runs its SQLite work off the caller's thread, in one transaction.
/// Every error thrown is a ``StoreError`` (or `CancellationError` when the task is cancelled).
///
/// Two ways in, while the port to PostgreSQL goes on domain by domain (issue 12): the ported files are written
/// once against ``SQLConnection`` and run on either backend through `sqlWrite`/`sqlRead` (every file but two:
/// devices and presence, enrolment and API tokens, events, gateways, gauges, removal, the model registry,
/// assignments, pins, delivery and the delta cache, model reports, pruning, reference packages, consent, samples,
/// drift reports and alerts, rounds, quota grants and usage receipts); rollouts and health summaries still use
/// GRDB's `Database` through `write`/`read`, which throw `unsupported` on PostgreSQL. The schema itself is complete
/// on both (``CoordinatorPostgresMigrations``).
public struct CoordinatorStore: Sendable {
    /// Runs the ported files' transactions, on SQLite or PostgreSQL.
    let executor: any SQLExecutor
    /// GRDB's writer over the same SQLite database, for the files not yet ported; nil on PostgreSQL.
    private let sqlite: (any DatabaseWriter)?
    /// Told how long each write transaction took, as its caller waited for it (the wait for SQLite's single
    /// writer included): the coordinator's `tinyfleet_sqlite_write_seconds`.
    let writeObserver: (@Sendable (Duration) -> Void)?

    private init(writer: any DatabaseWriter, writeObserver: (@Sendable (Duration) -> Void)? = nil) {
        sqlite = writer
        executor = GRDBExecutor(writer: writer)
        self.writeObserver = writeObserver
    }

    private init(executor: any SQLExecutor, writeObserver: (@Sendable (Duration) -> Void)?) {
        sqlite = nil
        self.executor = executor
        self.writeObserver = writeObserver
    }

    /// A store on PostgreSQL (`FleetStorePostgres` makes the executor), migrated with the PostgreSQL twins of the
    /// ported migrations. Only the ported files work on it; the others throw `unsupported`.
    package static func migratingPostgres(
        executor: any SQLExecutor,
        writeObserver: (@Sendable (Duration) -> Void)? = nil
    ) async throws -> CoordinatorStore {
        guard executor.dialect == .postgres else {
            throw StoreError.invalidArgument.with(
                "migratingPostgres needs a PostgreSQL executor, got \(executor.dialect)"
            )
        }
        try await SQLMigrator(CoordinatorPostgresMigrations.all).migrate(executor)
        return CoordinatorStore(executor: executor, writeObserver: writeObserver)
    }

    /// Opens (creating it and its directory if needed) the database at `path` in WAL mode, and migrates it.
    /// `writeObserver` is told how long each write transaction took.
    public init(path: String, writeObserver: (@Sendable (Duration) -> Void)? = nil) throws {
        self.init(
            writer: try DatabaseOpener.openPool(
                path: path,
                label: "coordinator",
                holding: "the coordinator database (device keys, consent records and raw samples)",
                migrator: CoordinatorMigrator.make()
            ),
            writeObserver: writeObserver
        )
    }

    /// A fresh, migrated, in-memory database, for tests.
    public static func inMemory() throws -> CoordinatorStore {
        CoordinatorStore(
            writer: try DatabaseOpener.openInMemory(label: "coordinator", migrator: CoordinatorMigrator.make())
        )
    }

    /// Opens an existing database read-only, for `fleetctl`; it works while the coordinator runs and when
    /// it is down. Throws `notFound` if there is no file at `path`, `incompatibleSchema` if the file lacks
    /// migrations this version needs. Every write method then throws `readOnly`.
    public static func openReadOnly(path: String) throws -> CoordinatorStore {
        CoordinatorStore(
            writer: try DatabaseOpener.openReadOnly(
                path: path,
                label: "coordinator-readonly",
                migrator: CoordinatorMigrator.make()
            )
        )
    }

    /// Closes the database connections. Any later call throws. Dropping the last copy of the store also
    /// closes it; this makes it explicit, for a graceful shutdown.
    public func close() async throws {
        try await executor.close()
    }

    /// Checkpoints the WAL into the database and truncates it to zero bytes, after an erasure.
    func truncateWAL() async throws {
        let writer = try self.writer
        try await mappingErrorsAsync { try await DatabaseOpener.truncateWAL(writer) }
    }

    /// One read-write transaction of a ported file, on either backend.
    func sqlWrite<T: Sendable>(_ updates: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let began = ContinuousClock.now
        defer { writeObserver?(ContinuousClock.now - began) }
        return try await executor.write(updates)
    }

    /// One read-only transaction of a ported file, on either backend.
    func sqlRead<T: Sendable>(_ value: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await executor.read(value)
    }

    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let writer = try self.writer
        let began = ContinuousClock.now
        defer { writeObserver?(ContinuousClock.now - began) }
        return try await mappingErrorsAsync { try await writer.write(updates) }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let writer = try self.writer
        return try await mappingErrorsAsync { try await writer.read(value) }
    }

    /// GRDB's writer, for the files not yet ported; `unsupported` on PostgreSQL.
    var writer: any DatabaseWriter {
        get throws(StoreError) {
            guard let sqlite else {
                throw StoreError.unsupported.with(
                    "this part of the coordinator store is not yet ported to PostgreSQL (issue 12); use SQLite"
                )
            }
            return sqlite
        }
    }
}
