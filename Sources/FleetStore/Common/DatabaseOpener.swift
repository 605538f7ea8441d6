import Foundation
import GRDB
import GRDBSQLite

/// Opens SQLite connections the way every TinyFleet store wants them.
enum DatabaseOpener {
    /// How long a connection waits for a lock held by another connection before failing with `busy`.
    static let busyTimeout: TimeInterval = 5

    /// An on-disk, read-write `DatabasePool` in WAL mode, creating the file and its parent directory if needed.
    ///
    /// The WAL is made persistent (`SQLITE_FCNTL_PERSIST_WAL`), so the `-wal` and `-shm` files stay next to
    /// the database after the writer closes, and a read-only opener (`fleetctl`) can still read it, even from
    /// a user who cannot create files in the directory.
    static func openPool(path: String, label: String, migrator: DatabaseMigrator) throws -> any DatabaseWriter {
        try mappingErrors {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try createDirectory(directory)
            var configuration = baseConfiguration(label: label)
            configuration.prepareDatabase { db in
                guard !db.configuration.readonly else { return }
                try enablePersistentWAL(db)
                // A persistent WAL is never deleted; keep it from staying large after a burst of writes.
                try db.execute(sql: "PRAGMA journal_size_limit = 16777216")
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            try migrate(pool, with: migrator)
            return pool
        }
    }

    /// An in-memory `DatabaseQueue`, for tests.
    static func openInMemory(label: String, migrator: DatabaseMigrator) throws -> any DatabaseWriter {
        try mappingErrors {
            let queue = try DatabaseQueue(configuration: baseConfiguration(label: label))
            try migrate(queue, with: migrator)
            return queue
        }
    }

    /// A read-only connection to an existing database; it never creates nor migrates anything.
    ///
    /// Works while a writer holds the database open in WAL mode, and after it closed. Throws
    /// `notFound(path)` when there is no file, and `incompatibleSchema` when the file lacks migrations
    /// this code knows about (a newer database, with migrations this code does not know, is accepted:
    /// migrations only add).
    static func openReadOnly(path: String, label: String, migrator: DatabaseMigrator) throws -> any DatabaseWriter {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.notFound(path)
        }
        return try mappingErrors {
            var configuration = baseConfiguration(label: label)
            configuration.readonly = true
            let queue: DatabaseQueue
            do {
                queue = try DatabaseQueue(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN {
                // The file may have gone between the check and the open.
                if !FileManager.default.fileExists(atPath: path) {
                    throw StoreError.notFound(path)
                }
                throw StoreError.io.with("cannot open \(path) read-only: \(error)")
            }
            let complete = try queue.read { db in try migrator.hasCompletedMigrations(db) }
            guard complete else {
                throw StoreError.incompatibleSchema.with("\(path) lacks migrations this version needs")
            }
            return queue
        }
    }

    private static func baseConfiguration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.label = label
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }

    /// Applies missing migrations. Refuses a database that a newer version has migrated further: writing
    /// to a schema this code does not know could break what the newer version relies on.
    private static func migrate(_ writer: any DatabaseWriter, with migrator: DatabaseMigrator) throws {
        let unknown = try writer.read { db in
            try migrator.appliedIdentifiers(db).subtracting(migrator.migrations)
        }
        guard unknown.isEmpty else {
            throw StoreError.incompatibleSchema.with(
                "database was migrated by a newer version (unknown migrations: \(unknown.sorted().joined(separator: ", ")))"
            )
        }
        try migrator.migrate(writer)
    }

    private static func createDirectory(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.io.with("cannot create directory \(directory.path): \(error)")
        }
    }

    private static func enablePersistentWAL(_ db: Database) throws {
        var flag: CInt = 1
        let code = withUnsafeMutablePointer(to: &flag) { pointer in
            sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, pointer)
        }
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot enable persistent WAL")
        }
    }
}
