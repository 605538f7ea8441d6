import GRDB

/// The coordinator's state: enrolment tokens, devices, the event log, models and their delivery, metering,
/// observability, rounds and rollouts, in one SQLite database or in PostgreSQL (`FleetStorePostgres`).
///
/// A `Sendable` value around one database connection (a WAL `DatabasePool` on disk, a pool of PostgreSQL
/// connections); copies share it. Every method is `async` and runs its database work off the caller's thread, in
/// one transaction. Every error thrown is a ``StoreError`` (or `CancellationError` when the task is cancelled).
///
/// Every file is written once against ``SQLConnection`` and runs on either backend through `sqlWrite`/`sqlRead`;
/// the schema has its twin on each (``CoordinatorMigrator``, ``CoordinatorPostgresMigrations``).
public struct CoordinatorStore: Sendable {
    /// Runs the store's transactions, on SQLite or PostgreSQL.
    let executor: any SQLExecutor
    /// GRDB's writer over the same SQLite database, to truncate its WAL after an erasure (and for tests of the
    /// SQLite file itself); nil on PostgreSQL.
    let sqlite: (any DatabaseWriter)?
    /// Told how long each write transaction took, as its caller waited for it (the wait for SQLite's single
    /// writer included): the coordinator's `tinyfleet_sqlite_write_seconds` or `tinyfleet_postgres_write_seconds`.
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
    /// SQLite migrations.
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

    /// A store over a PostgreSQL `executor` that must not migrate (`fleetctl`'s reads): checks that every
    /// migration of this version was applied (`notFound` or `incompatibleSchema` otherwise).
    package static func readingPostgres(executor: any SQLExecutor) async throws -> CoordinatorStore {
        try await SQLMigrator(CoordinatorPostgresMigrations.all).requireApplied(executor)
        return CoordinatorStore(executor: executor, writeObserver: nil)
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

    /// Checkpoints the WAL into the database and truncates it to zero bytes, after an erasure. Nothing on
    /// PostgreSQL, whose WAL the server recycles (README: an erasure there leaves bytes until VACUUM).
    func truncateWAL() async throws {
        guard let sqlite else { return }
        try await mappingErrorsAsync { try await DatabaseOpener.truncateWAL(sqlite) }
    }

    /// One read-write transaction, on either backend.
    func sqlWrite<T: Sendable>(_ updates: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let began = ContinuousClock.now
        defer { writeObserver?(ContinuousClock.now - began) }
        return try await executor.write(updates)
    }

    /// One read-only transaction, on either backend.
    func sqlRead<T: Sendable>(_ value: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await executor.read(value)
    }
}
