import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetStorePostgres
import Foundation

extension FleetCtl {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a stopped coordinator's state from SQLite into an empty PostgreSQL database.",
            discussion: """
                Copies every table of DIR's coordinator.sqlite into the database (its schema migrated first) in one \
                transaction, verifies each table by row count and SHA-256 of its rows in primary-key order, then \
                switches DIR to the database (database.json, as fleet-coordinator --database writes it) and moves \
                coordinator.sqlite aside to coordinator.sqlite.migrated (never deleted). The keys and model files \
                stay in DIR: start fleet-coordinator --data-dir DIR --database URL afterwards. Refused while a \
                coordinator runs on DIR, for a DIR already on PostgreSQL, and for a database that holds rows. The \
                password never goes in the URL: --database-password-file, or the environment variable \
                \(PostgresPassword.environmentVariable).
                """
        )

        @Option(help: "The coordinator's data directory (holding coordinator.sqlite).")
        var from: String

        @Option(help: "The PostgreSQL database, postgres://USER@HOST:PORT/DB (no password; ?sslmode=… optional).")
        var to: String

        @Option(help: "File holding the PostgreSQL password (mode 0600 or 0400, owned by this user).")
        var databasePasswordFile: String?

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let url: PostgresDatabaseURL
            do { url = try PostgresDatabaseURL(parsing: to) } catch { throw ValidationError("--to: \(error)") }
            let password: String?
            do { password = try PostgresPassword.resolve(file: databasePasswordFile) } catch {
                throw CommandFailure("\(error)")
            }
            let migration = StoreMigration(
                dataDirectory: from,
                url: url,
                password: password,
                passwordFile: databasePasswordFile
            )
            let report = try await migration.run(progress: { warn("fleetctl migrate: \($0)") })
            try emit(report, json: output.json) { report in
                Table(
                    headers: ["TABLE", "ROWS", "SHA256", "VERIFIED"],
                    rows: report.tables.map { [$0.name, "\($0.rows)", $0.sha256, $0.verified ? "yes" : "NO"] }
                ).render()
                    + "\n\nverified: every table has the same rows in \(report.database); \(from) now uses it "
                    + "(coordinator.sqlite moved to \(report.movedAside)).\nStart the coordinator with: "
                    + "fleet-coordinator --data-dir \(from) --database \(report.database)"
                    + (databasePasswordFile.map { " --database-password-file \($0)" } ?? "")
            }
        }
    }
}
