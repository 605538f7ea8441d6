import GRDB

/// The coordinator's state: enrolment tokens, devices and the event log, in one SQLite database.
///
/// A `Sendable` value around one database connection (a WAL `DatabasePool` on disk); copies share it.
/// Every method is `async` and runs its SQLite work off the caller's thread, in one transaction.
/// Every error thrown is a ``StoreError`` (or `CancellationError` when the task is cancelled).
public struct CoordinatorStore: Sendable {
    let writer: any DatabaseWriter
    /// Told how long each write transaction took, as its caller waited for it (the wait for SQLite's single
    /// writer included): the coordinator's `tinyfleet_sqlite_write_seconds`.
    let writeObserver: (@Sendable (Duration) -> Void)?

    private init(writer: any DatabaseWriter) {
        self.writer = writer
        writeObserver = nil
    }

    /// Opens (creating it and its directory if needed) the database at `path` in WAL mode, and migrates it.
    /// `writeObserver` is told how long each write transaction took.
    public init(path: String, writeObserver: (@Sendable (Duration) -> Void)? = nil) throws {
        self.writeObserver = writeObserver
        writer = try DatabaseOpener.openPool(
            path: path,
            label: "coordinator",
            holding: "the coordinator database (device keys, consent records and raw samples)",
            migrator: CoordinatorMigrator.make()
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
        try mappingErrors { try writer.close() }
    }

    /// Checkpoints the WAL into the database and truncates it to zero bytes, after an erasure.
    func truncateWAL() async throws {
        try await mappingErrorsAsync { try await DatabaseOpener.truncateWAL(writer) }
    }

    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let began = ContinuousClock.now
        defer { writeObserver?(ContinuousClock.now - began) }
        return try await mappingErrorsAsync { try await writer.write(updates) }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await mappingErrorsAsync { try await writer.read(value) }
    }
}
