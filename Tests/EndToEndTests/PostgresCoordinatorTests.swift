import Foundation
import PostgresTestSupport
import Testing

/// `fleet-coordinator --database postgres://…` (issue 12, item 1) with real processes and a real PostgreSQL (a
/// throwaway cluster, or `TINYFLEET_TEST_POSTGRES`): agents enrol, a model is pushed and installed, a staged
/// rollout completes, `fleetctl` reads the state while the coordinator is down, and the fleet's state outlives a
/// coordinator killed with `kill -9`, all in PostgreSQL (no `coordinator.sqlite` in the data directory). Settings that cannot work are refused at start with what to do.
extension EndToEnd {
    @Suite(.serialized) struct PostgresCoordinatorTests {
        @Test func aCoordinatorOnPostgreSQLServesTheFleetAndKeepsItsStateAcrossAKill() async throws {
            let (url, _) = try await PostgresTestCluster.shared.freshDatabase()
            let fleet = try Fleet("postgres-coordinator")
            fleet.extraCoordinatorArguments = ["--database", url.description, "--http-listen", "127.0.0.1:0"]
            try await fleet.startCoordinator()
            try await fleet.run { fleet in
                let base = RolloutTests()
                let token = try await fleet.createToken(uses: 2, labels: ["site=lab"])
                for agent in ["p-1", "p-2"] {
                    try fleet.startAgent(agent, token: token.token, extra: ["--capability", "ram=48MiB"])
                }
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["p-1", "p-2"]
                } message: {
                    "both agents online: \(fleet.summary)"
                }
                let pushed = try await base.push(
                    fleet,
                    version: 1,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.973",
                    held: false
                )
                #expect(pushed.assignedDevices == 2)
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet) == ["p-1": 1, "p-2": 1]
                } message: {
                    "both run v1: \(await base.describe { try await base.versions(fleet) })"
                }
                let transfers = try await base.transfers(fleet)
                #expect(transfers.count == 2 && transfers.allSatisfy { $0.version == 1 }, "\(transfers)")
                // Its writes are timed as PostgreSQL's, not SQLite's.
                let scrape = try await PrometheusScrape.fetch(try PrometheusScrape.coordinatorAddress(fleet))
                #expect(scrape.families["tinyfleet_postgres_write_seconds"] == "histogram", "\(scrape.families)")
                #expect((scrape.value("tinyfleet_postgres_write_seconds_count") ?? 0) >= 3)
                #expect((scrape.value("tinyfleet_sqlite_write_seconds_count") ?? 0) == 0)

                // A staged rollout of v2 in two waves, one device each, runs to completion on PostgreSQL.
                let started = try await base.rollOutHeldV2(
                    fleet,
                    ["--waves", "50,100", "--wave-soak", "1s", "--min-devices-per-wave", "1", "--seed", "2"]
                        + RolloutTests.gatesOff
                )
                #expect(started.waves.map(\.devices) == [1, 1], "\(started.waves.map(\.devices))")
                try await expectEventually(timeout: .seconds(120)) {
                    try await base.show(fleet, started.id).state == "completed"
                } message: {
                    "the rollout completes: \(await base.describe { try await base.show(fleet, started.id) })"
                }
                try await expectEventually(timeout: .seconds(60)) {
                    try await base.versions(fleet) == ["p-1": 2, "p-2": 2]
                } message: {
                    "both run v2: \(await base.describe { try await base.versions(fleet) })"
                }
                let files = try FileManager.default.contentsOfDirectory(atPath: fleet.coordinatorDirectory)
                #expect(!files.contains { $0.hasPrefix("coordinator.sqlite") }, "the state is not in SQLite: \(files)")
                // The data directory records where the state is (for fleetctl), without a password.
                let record = try String(contentsOfFile: fleet.coordinatorDirectory + "/database.json", encoding: .utf8)
                #expect(record.contains(url.description), "\(record)")

                // A coordinator started on that directory without --database is refused: it would be a second,
                // empty fleet on SQLite.
                let withoutDatabase = try await runCommand(
                    "fleet-coordinator",
                    ["--data-dir", fleet.coordinatorDirectory, "--listen", "127.0.0.1:0"]
                )
                #expect(
                    withoutDatabase.status != 0 && withoutDatabase.stderr.contains("keeps its state in PostgreSQL"),
                    "\(withoutDatabase)"
                )
                #expect(!FileManager.default.fileExists(atPath: fleet.coordinatorDirectory + "/coordinator.sqlite"))

                // Killed: fleetctl still reads the state from PostgreSQL, and says the coordinator is unreachable.
                let before = try await fleet.devices()
                fleet.coordinator?.kill9()
                _ = await fleet.coordinator?.waitForExit(timeout: .seconds(10))
                let whileDown = try await runCommand("fleetctl", ["devices", "--data-dir", fleet.coordinatorDirectory])
                #expect(whileDown.status == 0 && whileDown.stdout.contains("p-1"), "\(whileDown)")
                #expect(whileDown.stderr.contains("the coordinator is not reachable"), "\(whileDown)")
                let delivered = Set(try await base.transfers(fleet).map { "\($0.deviceID) v\($0.version)" })
                #expect(delivered.count == 4, "transfers read from PostgreSQL while it is down: \(delivered)")

                // Started again on the same database: devices, labels, models and transfers are still there, and
                // the agents come back online.
                try await fleet.startCoordinator(port: fleet.port)
                let after = try await fleet.devices()
                #expect(Set(after.map(\.id)) == Set(before.map(\.id)) && after.count == 2)
                #expect(after.allSatisfy { $0.labels["site"] == "lab" }, "\(after.map(\.labels))")
                #expect(Set(try await base.transfers(fleet).map { "\($0.deviceID) v\($0.version)" }) == delivered)
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["p-1", "p-2"]
                } message: {
                    "both agents back online: \(fleet.summary)"
                }
                #expect(try await base.versions(fleet) == ["p-1": 2, "p-2": 2])
                let kinds = try await fleet.events().map(\.kind)
                #expect(kinds.filter { $0 == "enrolled" }.count == 2, "\(kinds)")
            }
            try await PostgresTestCluster.shared.drop(url)
        }

        @Test func databaseSettingsThatCannotWorkAreRefusedWithWhatToDo() async throws {
            let root = try makeTemporaryDirectory("tinyfleet-postgres-refusals")
            defer { try? FileManager.default.removeItem(atPath: root) }
            func start(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
                try await runCommand(
                    "fleet-coordinator",
                    ["--data-dir", root + "/coordinator", "--listen", "127.0.0.1:0"] + arguments
                )
            }
            // A password in the URL would show in `ps`.
            let inURL = try await start(["--database", "postgres://fleet:secret@127.0.0.1:5432/fleet"])
            #expect(inURL.status != 0 && inURL.stderr.contains("--database-password-file"), "\(inURL)")
            #expect(!inURL.stderr.contains("secret"), "the password is not echoed")
            // A password file other users can read.
            let file = root + "/password"
            try "secret\n".write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
            let readable = try await start([
                "--database", "postgres://fleet@127.0.0.1:5432/fleet", "--database-password-file", file,
            ])
            #expect(readable.status != 0 && readable.stderr.contains(file), "\(readable)")
            #expect(!readable.stderr.contains("Usage:"), "not a usage error: \(readable.stderr)")
            // A password file without --database.
            let alone = try await start(["--database-password-file", file])
            #expect(alone.status != 0 && alone.stderr.contains("needs --database"), "\(alone)")
            // Not a PostgreSQL URL.
            let wrong = try await start(["--database", "mysql://fleet@127.0.0.1/fleet"])
            #expect(wrong.status != 0 && wrong.stderr.contains("postgres://USER@HOST:PORT/DB"), "\(wrong)")
            // Nothing listens there: the coordinator stops at once with the server's reason, not after retries.
            let port = try freeLoopbackPort()
            let started = ContinuousClock.now
            let unreachable = try await start(["--database", "postgres://fleet@127.0.0.1:\(port)/fleet"])
            #expect(unreachable.status != 0 && unreachable.stderr.contains("cannot open postgres://"), "\(unreachable)")
            #expect(ContinuousClock.now - started < .seconds(30), "refused without the pool's minute of retries")
        }
    }
}
