import GRDB

/// The agent's own state on the edge box: a key-value store of small blobs (identity key, device id,
/// coordinator address, pinned keys, serialized state) and an outbox of messages for the coordinator
/// that survives crashes and is delivered in order.
///
/// A `Sendable` value around one database connection (a WAL `DatabasePool` on disk); copies share it.
/// Every error thrown is a ``StoreError`` (or `CancellationError` when the task is cancelled).
public struct AgentStore: Sendable {
    let writer: any DatabaseWriter

    private init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Opens (creating it and its directory if needed) the database at `path` in WAL mode, and migrates it.
    public init(path: String) throws {
        writer = try DatabaseOpener.openPool(
            path: path,
            label: "agent",
            holding: "the agent database (the device's identity key, consent records and queued samples)",
            migrator: AgentMigrator.make()
        )
    }

    /// A fresh, migrated, in-memory database, for tests.
    public static func inMemory() throws -> AgentStore {
        AgentStore(writer: try DatabaseOpener.openInMemory(label: "agent", migrator: AgentMigrator.make()))
    }

    /// Opens an existing database read-only (diagnostics). Throws `notFound` if there is no file at `path`,
    /// `incompatibleSchema` if it lacks migrations this version needs. Every write method throws `readOnly`.
    public static func openReadOnly(path: String) throws -> AgentStore {
        AgentStore(
            writer: try DatabaseOpener.openReadOnly(path: path, label: "agent-readonly", migrator: AgentMigrator.make())
        )
    }

    /// Closes the database connections. Any later call throws.
    public func close() async throws {
        try mappingErrors { try writer.close() }
    }

    /// Checkpoints the WAL into the database and truncates it to zero bytes, after an erasure.
    func truncateWAL() async throws {
        try await mappingErrorsAsync { try await DatabaseOpener.truncateWAL(writer) }
    }

    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await mappingErrorsAsync { try await writer.write(updates) }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await mappingErrorsAsync { try await writer.read(value) }
    }
}
