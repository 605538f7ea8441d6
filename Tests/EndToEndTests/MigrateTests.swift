import Foundation
import PostgresTestSupport
import Testing

/// `fleetctl migrate --from DIR --to postgres://…` (issue 12, item 3) with real processes and a real PostgreSQL: a
/// fleet on SQLite moves to PostgreSQL and keeps its devices, keys, events and transfers; its agents come back with
/// their identities and take the next version as a delta. The refusals say what to do.
extension EndToEnd {
    @Suite(.serialized) struct MigrateTests {
        struct Transfer: Decodable, Hashable {
            var deviceID: String
            var version: Int
            var encoding: String
            var completedAt: String?
        }

        struct Report: Decodable {
            struct Table: Decodable {
                var name: String
                var rows: Int
                var sha256: String
                var verified: Bool
            }
            var tables: [Table]
        }

        func transfers(_ fleet: Fleet) async throws -> Set<Transfer> {
            Set(
                try JSONDecoder().decode(
                    [Transfer].self,
                    from: Data(
                        await fleet.fleetctl(["transfers", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                    )
                )
            )
        }

        /// Devices as the operator sees them, without what changes on its own (status, last seen).
        func deviceIdentities(_ fleet: Fleet) async throws -> [String] {
            try await fleet.devices().map { "\($0.id) \($0.name) \($0.labels.sorted { $0.key < $1.key })" }.sorted()
        }

        @Test func aSQLiteFleetMovesToPostgreSQLAndCarriesOn() async throws {
            let (url, _) = try await PostgresTestCluster.shared.freshDatabase()
            let fleet = try Fleet("migrate-postgres")
            try await fleet.startCoordinator()
            try await fleet.run { fleet in
                let base = RolloutTests()
                let directory = fleet.coordinatorDirectory
                let token = try await fleet.createToken(uses: 2, labels: ["site=lab"])
                for agent in ["m-1", "m-2"] {
                    try fleet.startAgent(agent, token: token.token, extra: ["--capability", "ram=48MiB"])
                }
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["m-1", "m-2"]
                } message: {
                    "both agents online: \(fleet.summary)"
                }
                _ = try await base.push(
                    fleet,
                    version: 1,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.973",
                    held: false
                )
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet) == ["m-1": 1, "m-2": 1]
                } message: {
                    "both run v1: \(await base.describe { try await base.versions(fleet) })"
                }

                // Refused while the coordinator runs: writes made during the copy would be lost.
                let whileRunning = try await runCommand(
                    "fleetctl",
                    ["migrate", "--from", directory, "--to", url.description]
                )
                #expect(whileRunning.status != 0 && whileRunning.stderr.contains("still running"), "\(whileRunning)")
                #expect(FileManager.default.fileExists(atPath: directory + "/coordinator.sqlite"))

                await fleet.coordinator?.terminate()
                let devicesBefore = try await deviceIdentities(fleet)
                let eventsBefore = try await fleet.events()
                let transfersBefore = try await transfers(fleet)
                #expect(devicesBefore.count == 2 && transfersBefore.count == 2, "\(devicesBefore) \(transfersBefore)")

                let migrated = try await runCommand(
                    "fleetctl",
                    ["migrate", "--from", directory, "--to", url.description, "--json"]
                )
                try #require(migrated.status == 0, "\(migrated)")
                let report = try JSONDecoder().decode(Report.self, from: Data(migrated.stdout.utf8))
                #expect(report.tables.allSatisfy { $0.verified && $0.sha256.count == 64 }, "\(migrated.stdout)")
                let rows = Dictionary(uniqueKeysWithValues: report.tables.map { ($0.name, $0.rows) })
                #expect(rows["device"] == 2 && rows["enrolmentToken"] == 1 && rows["modelVariant"] == 1, "\(rows)")
                #expect(rows["event"] == eventsBefore.count, "\(rows) against \(eventsBefore.count) events")
                let files = try FileManager.default.contentsOfDirectory(atPath: directory)
                #expect(
                    !files.contains("coordinator.sqlite") && files.contains("coordinator.sqlite.migrated"),
                    "\(files)"
                )
                let record = try String(contentsOfFile: directory + "/database.json", encoding: .utf8)
                #expect(record.contains(url.description), "\(record)")

                // A directory already on PostgreSQL has nothing to migrate.
                let again = try await runCommand("fleetctl", ["migrate", "--from", directory, "--to", url.description])
                #expect(again.status != 0 && again.stderr.contains("already keeps its state in PostgreSQL"), "\(again)")

                // fleetctl reads the same records from PostgreSQL while the coordinator is down.
                #expect(try await deviceIdentities(fleet) == devicesBefore)
                let eventsRead = try await fleet.events()
                #expect(eventsRead.map(\.sequence) == eventsBefore.map(\.sequence))
                #expect(eventsRead.map(\.detail) == eventsBefore.map(\.detail))
                #expect(try await transfers(fleet) == transfersBefore)

                // Started on PostgreSQL: the agents authenticate with the identities they had, none enrols again.
                fleet.extraCoordinatorArguments = ["--database", url.description]
                try await fleet.startCoordinator(port: fleet.port)
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["m-1", "m-2"]
                } message: {
                    "both agents back online: \(fleet.summary)"
                }
                #expect(try await deviceIdentities(fleet) == devicesBefore)
                let eventsAfter = try await fleet.events()
                #expect(
                    Set(eventsBefore.map(\.sequence)).isSubset(of: eventsAfter.map(\.sequence)),
                    "the old events are kept"
                )
                #expect(eventsAfter.filter { $0.kind == "enrolled" }.count == 2, "\(eventsAfter.map(\.kind))")
                #expect(
                    eventsAfter.filter { !eventsBefore.map(\.sequence).contains($0.sequence) }
                        .allSatisfy { $0.sequence > (eventsBefore.map(\.sequence).max() ?? 0) },
                    "new events are numbered after the copied ones"
                )

                // v2 reaches both as a delta against the v1 they had before the move.
                _ = try await base.push(
                    fleet,
                    version: 2,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.978",
                    held: false
                )
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet) == ["m-1": 2, "m-2": 2]
                } message: {
                    "both run v2: \(await base.describe { try await base.versions(fleet) })"
                }
                let after = try await transfers(fleet)
                #expect(transfersBefore.isSubset(of: after))
                let v2 = after.filter { $0.version == 2 }
                #expect(v2.count == 2 && v2.allSatisfy { $0.encoding == "delta" }, "\(v2)")
            }
            try await PostgresTestCluster.shared.drop(url)
        }

        @Test func migrationsThatCannotWorkAreRefusedAndTheDirectoryKeepsSQLite() async throws {
            let (url, _) = try await PostgresTestCluster.shared.freshDatabase()
            let source = try Fleet("migrate-refusals")
            try await source.startCoordinator()
            let other = try Fleet("migrate-refusals-other")
            other.extraCoordinatorArguments = ["--database", url.description]
            try await other.startCoordinator()
            try await source.run { source in
                _ = try await source.createToken(uses: 1)
                _ = try await other.createToken(uses: 1)
                await other.coordinator?.terminate()
                await source.coordinator?.terminate()
                let directory = source.coordinatorDirectory
                func migrate(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
                    try await runCommand("fleetctl", ["migrate", "--from", directory] + arguments)
                }

                // A database that holds another fleet.
                let occupied = try await migrate(["--to", url.description])
                #expect(occupied.status != 0 && occupied.stderr.contains("already holds a fleet"), "\(occupied)")
                #expect(occupied.stderr.contains("enrolmentToken"), "names the tables: \(occupied)")
                // A password in the URL, as fleet-coordinator --database refuses it.
                let inURL = try await migrate(["--to", "postgres://fleet:secret@127.0.0.1:5432/fleet"])
                #expect(inURL.status != 0 && inURL.stderr.contains("--database-password-file"), "\(inURL)")
                #expect(!inURL.stderr.contains("secret"), "the password is not echoed")
                // A directory without a coordinator's state.
                let empty = try await runCommand(
                    "fleetctl",
                    ["migrate", "--from", source.root, "--to", url.description]
                )
                #expect(empty.status != 0 && empty.stderr.contains("holds no coordinator state"), "\(empty)")

                // fleet-coordinator --database on this directory points at fleetctl migrate.
                let started = try await runCommand(
                    "fleet-coordinator",
                    ["--data-dir", directory, "--listen", "127.0.0.1:0", "--database", url.description]
                )
                #expect(started.status != 0 && started.stderr.contains("fleetctl migrate --from"), "\(started)")

                let files = try FileManager.default.contentsOfDirectory(atPath: directory)
                #expect(files.contains("coordinator.sqlite") && !files.contains("database.json"), "\(files)")
                #expect(!files.contains { $0.hasPrefix("coordinator.sqlite.migrated") }, "\(files)")
                // The fleet on PostgreSQL is untouched.
                let tokens = try await runCommand(
                    "fleetctl",
                    ["token", "list", "--data-dir", other.coordinatorDirectory, "--json"]
                )
                #expect(tokens.status == 0 && tokens.stdout.components(separatedBy: "\"id\"").count == 2, "\(tokens)")
            }
            other.cleanUp()
            try await PostgresTestCluster.shared.drop(url)
        }
    }
}
