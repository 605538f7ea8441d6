import FleetTrust
import Foundation
import GRDB
import GRDBSQLite

/// Opens SQLite connections the way every TinyFleet store wants them.
enum DatabaseOpener {
    /// How long a connection waits for a lock held by another connection before failing with `busy`.
    static let busyTimeout: TimeInterval = 5

    /// An on-disk, read-write `DatabasePool` in WAL mode, creating the file and its parent directory if needed.
    ///
    /// The database holds secrets (`holding` says which, for the refusal): its directory is made private (0700)
    /// and the file is created empty with mode 0600 before SQLite opens it, so that SQLite, which gives the `-wal`
    /// and `-shm` files the database file's mode, never creates any of the three readable by others. An existing
    /// database, `-wal` or `-shm` that group or others may read, or that is a symbolic link, is refused with the fix.
    ///
    /// The WAL is made persistent (`SQLITE_FCNTL_PERSIST_WAL`), so the `-wal` and `-shm` files stay next to
    /// the database after the writer closes, and a read-only opener (`fleetctl`) can still read it.
    static func openPool(
        path: String,
        label: String,
        holding: String,
        migrator: DatabaseMigrator
    ) throws -> any DatabaseWriter {
        try mappingErrors {
            try preparePrivateFile(path, holding: holding)
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
            // Deleted content is overwritten with zeros, in the database file and in the WAL frames that carry
            // the change: an erasure leaves no readable copy once the WAL is checkpointed and truncated.
            try db.execute(sql: "PRAGMA secure_delete = ON")
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

    /// Makes the database's directory private, refuses shared or linked database files, and creates the
    /// database file empty with mode 0600 when it does not exist.
    private static func preparePrivateFile(_ path: String, holding: String) throws {
        do throws(TrustError) {
            try PrivateFiles.prepareDirectory((path as NSString).deletingLastPathComponent)
            try PrivateFiles.requirePrivate([path, path + "-wal", path + "-shm"], holding: holding)
            try PrivateFiles.createEmpty(path)
        } catch let error where error == .insecureFile("") {
            throw StoreError.insecureFile.with(error.detail)
        } catch {
            throw StoreError.io.with(error.detail)
        }
    }

    /// Moves every WAL frame into the database file and truncates the WAL to zero bytes, so that content deleted
    /// with `secure_delete` (zeroed in the database) leaves no older copy in the `-wal` file. Waits (up to the
    /// busy timeout, three times) for readers of older snapshots to finish.
    static func truncateWAL(_ writer: any DatabaseWriter) async throws {
        var attempt = 0
        while true {
            do {
                try await writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 2 {
                attempt += 1
            }
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
