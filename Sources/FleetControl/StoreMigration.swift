import FleetCoordinator
import FleetStore
import FleetStorePostgres
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `fleetctl migrate` (issue 12, item 3): moves a stopped coordinator's state from its `coordinator.sqlite` into an
/// empty PostgreSQL database, verified per table by row count and hash, then switches the data directory to that
/// database (`database.json`, as `fleet-coordinator --database` writes it) and keeps the SQLite files aside as
/// `coordinator.sqlite.migrated` (never deleted). The keys and model files stay in the directory.
public struct StoreMigration: Sendable {
    /// One table of the report.
    public struct TableReport: Codable, Sendable, Equatable {
        public var name: String
        public var rows: Int64
        public var sha256: String
        public var verified: Bool
    }

    /// What `fleetctl migrate --json` prints.
    public struct Report: Codable, Sendable, Equatable {
        public var database: String
        public var tables: [TableReport]
        /// Where the SQLite database was moved.
        public var movedAside: String
    }

    public let directory: CoordinatorDataDirectory
    public let url: PostgresDatabaseURL
    public let password: String?
    /// The password file as `database.json` records it (absolute), when one was given.
    public let passwordFile: String?

    public init(dataDirectory: String, url: PostgresDatabaseURL, password: String?, passwordFile: String?) {
        directory = CoordinatorDataDirectory(path: dataDirectory)
        self.url = url
        self.password = password
        self.passwordFile = passwordFile.map(PostgresPassword.recordedPath)
    }

    /// The suffix the SQLite files get when moved aside.
    public static let movedAsideSuffix = ".migrated"
    private static let sqliteCompanions = ["", "-wal", "-shm"]

    /// Copies, verifies and switches; `progress` gets human-readable lines (for stderr) while large tables copy.
    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Report {
        try await refuseUnlessReady()
        let source = try CoordinatorStore.openReadOnly(path: directory.databasePath)
        let verifications: [TableVerification]
        do {
            verifications = try await PostgresCoordinatorStore.withStore(url, password: password) { target in
                try await source.copy(into: target, progress: Self.progressLines(progress))
            }
            try await source.close()
        } catch let error as StoreError where error == .targetNotEmpty {
            try? await source.close()
            throw ControlError("cannot migrate into \(url): \(error.message)")
        } catch let error as StoreError {
            try? await source.close()
            throw ControlError("migration to \(url) failed, \(directory.path) is unchanged: \(error.message)")
        }
        let movedAside = try switchToPostgres()
        return Report(
            database: url.description,
            tables: verifications.map {
                TableReport(name: $0.name, rows: $0.target.rows, sha256: $0.target.sha256, verified: $0.verified)
            },
            movedAside: movedAside
        )
    }

    /// The refusals before anything is touched: a directory without SQLite state, one already on PostgreSQL, a
    /// coordinator still running on it, files a previous migration left aside.
    private func refuseUnlessReady() async throws {
        if let record = try directory.databaseRecord() {
            throw ControlError(
                "\(directory.path) already keeps its state in PostgreSQL (\(record.url)): there is nothing to migrate"
            )
        }
        guard FileManager.default.fileExists(atPath: directory.databasePath) else {
            throw CoordinatorTarget.noCoordinatorState(in: directory.path)
        }
        if let running = await runningCoordinator() {
            throw ControlError(
                "a coordinator is still running on \(directory.path) (\(running)): stop it (SIGTERM, or systemctl stop) "
                    + "and run fleetctl migrate again, so that no write is lost"
            )
        }
        for companion in Self.sqliteCompanions {
            let aside = directory.databasePath + Self.movedAsideSuffix + companion
            if FileManager.default.fileExists(atPath: aside) {
                throw ControlError(
                    "\(aside) exists (left by an earlier migration): move it elsewhere first; it is never overwritten"
                )
            }
        }
    }

    /// How a coordinator on this directory shows it still runs: the process its `coordinator.json` names is alive,
    /// or something accepts connections at the address recorded there. Nil when neither.
    func runningCoordinator() async -> String? {
        guard let endpoint = try? directory.endpoint() else { return nil }
        if Self.isCoordinatorProcess(endpoint.pid) { return "process \(endpoint.pid)" }
        let target = CoordinatorTarget(dataDirectory: directory.path, address: nil, adminKeyPath: nil, tls: nil)
        if await target.coordinatorUnreachable() == nil {
            return "listening on \(endpoint.host):\(endpoint.port)"
        }
        return nil
    }

    /// Whether `pid` is a live fleet-coordinator (its command line says so where `/proc` tells; alive is enough
    /// where it does not).
    private static func isCoordinatorProcess(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
            return !FileManager.default.fileExists(atPath: "/proc/self")
        }
        return String(decoding: commandLine, as: UTF8.self).contains("fleet-coordinator")
    }

    /// Moves the SQLite files aside and records the PostgreSQL database, as `fleet-coordinator --database` would.
    /// Returns where `coordinator.sqlite` went.
    private func switchToPostgres() throws -> String {
        var moved: [(from: String, to: String)] = []
        for companion in Self.sqliteCompanions {
            let from = directory.databasePath + companion
            let to = directory.databasePath + Self.movedAsideSuffix + companion
            guard FileManager.default.fileExists(atPath: from) else { continue }
            guard rename(from, to) == 0 else {
                let reason = String(cString: strerror(errno))
                for undo in moved.reversed() { _ = rename(undo.to, undo.from) }
                throw ControlError(
                    "the copy in \(url) is verified, but \(from) could not be moved aside (\(reason)); the directory "
                        + "still uses SQLite: fix that and run fleetctl migrate again into a new, empty database"
                )
            }
            moved.append((from, to))
        }
        do {
            try directory.claimDatabase(.init(url: url.description, passwordFile: passwordFile))
        } catch {
            for undo in moved.reversed() { _ = rename(undo.to, undo.from) }
            throw ControlError(
                "the copy in \(url) is verified, but \(directory.databaseRecordPath) could not be written (\(error)); "
                    + "the directory still uses SQLite"
            )
        }
        return directory.databasePath + Self.movedAsideSuffix
    }

    /// Progress lines for tables of at least 10,000 rows: about every tenth of the table, and at its end.
    private static func progressLines(_ emit: @escaping @Sendable (String) -> Void) -> @Sendable (CopyProgress) -> Void
    {
        { step in
            guard step.total >= 10_000 else { return }
            let tenth = max(1, step.total / 10)
            let previous = step.copied - step.batch
            if step.copied == step.total || step.copied / tenth != previous / tenth {
                emit("\(step.table): \(step.copied)/\(step.total) rows copied")
            }
        }
    }
}
