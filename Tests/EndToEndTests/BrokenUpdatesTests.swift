import Foundation
import Testing

/// Devices whose trainer plug-in (`Examples/sign-flip-trainer.py` with factor nan, inf or 1e30) uploads NaN,
/// infinite or absurdly scaled weights, beside honest devices: each bad update is refused alone with its
/// reason, the round publishes from the others, and no round stays `running`, even when the coordinator is
/// killed mid-round; `round start --wait` always ends, with exit status 1 when a round failed.
extension EndToEnd {
    @Suite(.serialized) struct BrokenUpdatesTests {
        struct Round: Decodable {
            var round: Int
            var status: String
            var participants: Int
            var testAccuracy: Double?
            var publishedVersion: Int?
            var detail: String
        }

        struct RoundDetail: Decodable {
            struct Participant: Decodable {
                var device: String
                var status: String
                var reason: String
            }
            var participants: [Participant]
        }

        /// client-2, -3 and -4 upload base + factor × (trained − base); client-5 trains honestly but claims
        /// 2,000,000,000 samples.
        static let factors = [2: "nan", 3: "inf", 4: "1e30", 5: "1 2000000000"]

        private func startFleet(_ name: String) async throws -> Fleet {
            let fleet = try Fleet(name)
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            try await fleet.startCoordinator()
            let tokens = try await fleet.digitsRegionTokens(uses: 2)
            for client in 0..<6 {
                var extra = fleet.digitsAgentArguments(client)
                if let factor = Self.factors[client] {
                    extra += [
                        "--trainer-command",
                        "python3 '\(PoisonedRoundsTests.plugin)' '\(Binaries.path("fleet-agent"))' \(factor)",
                    ]
                }
                try fleet.startAgent("client-\(client)", token: tokens[client % 4], extra: extra)
            }
            #expect(try await eventually(timeout: .seconds(60)) { try await fleet.onlineNames().count == 6 })
            try await fleet.grantTraining(0..<6)
            try await fleet.initDigitsModel("digits-mlp")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 6
                },
                "all 6 agents run v1"
            )
            return fleet
        }

        private func roundStart(
            _ fleet: Fleet,
            _ arguments: [String]
        ) async throws -> (
            status: Int32, rounds: [Round], stderr: String
        ) {
            let result = try await runCommand(
                "fleetctl",
                [
                    "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--deadline", "30s",
                    "--eval-data", "\(fleet.root)/test.csv", "--strategy", "fedavg", "--wait", "--json",
                ] + arguments
            )
            return (
                result.status, try JSONDecoder().decode([Round].self, from: Data(result.stdout.utf8)), result.stderr
            )
        }

        @Test func badUpdatesAreRefusedAloneAndTheRoundPublishesFromTheOthers() async throws {
            let fleet = try await startFleet("broken-updates")
            defer { fleet.cleanUp() }
            let names = Dictionary(uniqueKeysWithValues: try await fleet.devices().map { ($0.id, $0.name) })

            let published = try await roundStart(fleet, ["--clients", "6", "--min-clients", "2"])
            #expect(published.status == 0, "\(published.stderr)")
            let round = try #require(published.rounds.first)
            #expect(round.status == "published" && round.participants == 3, "\(round)")
            #expect((round.testAccuracy ?? 0) > 0.2, "the honest updates trained the model")
            #expect(round.detail.contains("3 refused"), "\(round.detail)")
            let detail = try await JSONDecoder().decode(
                RoundDetail.self,
                from: Data(
                    fleet.fleetctl([
                        "round", "show", "\(round.round)", "--data-dir", fleet.coordinatorDirectory, "--json",
                    ]).utf8
                )
            )
            let byName = Dictionary(uniqueKeysWithValues: detail.participants.map { (names[$0.device] ?? "", $0) })
            for client in [0, 1, 5] { #expect(byName["client-\(client)"]?.status == "updated") }
            // The claimed 2e9 samples weigh as 4× the median of the round's accepted counts.
            #expect(byName["client-5"]?.reason.contains("reported 2000000000 samples; weighed as ") == true)
            #expect(round.detail.contains("1 sample count(s) capped at"), "\(round.detail)")
            #expect(byName["client-2"]?.status == "refused")
            #expect(byName["client-2"]?.reason.contains("non-finite") == true, "\(byName["client-2"]?.reason ?? "")")
            #expect(byName["client-3"]?.status == "refused")
            #expect(byName["client-3"]?.reason.contains("non-finite") == true, "\(byName["client-3"]?.reason ?? "")")
            #expect(byName["client-4"]?.status == "refused")
            #expect(
                byName["client-4"]?.reason.contains("absurdly scaled") == true,
                "\(byName["client-4"]?.reason ?? "")"
            )
            let table = try await fleet.fleetctl([
                "round", "show", "\(round.round)", "--data-dir", fleet.coordinatorDirectory,
            ])
            #expect(table.contains("REASON") && table.contains("absurdly scaled"), "\(table)")
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    await fleet.installedVersions(of: "digits-mlp").filter { $0 == 2 }.count == 6
                },
                "every device runs the published v2"
            )

            // Only 3 usable updates for min-clients 4: the round fails with the reason, --wait ends with status 1.
            #expect(
                try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 6 },
                "all 6 devices online again after training: \(fleet.summary)"
            )
            let failed = try await roundStart(fleet, ["--clients", "6", "--min-clients", "4"])
            #expect(failed.status == 1)
            #expect(failed.rounds.first?.status == "failed" && failed.rounds.first?.publishedVersion == nil)
            #expect(
                failed.stderr.contains("3 usable update(s)") && failed.stderr.contains("3 refused"),
                "\(failed.stderr)"
            )
            await #expect(fleet.installedVersions(of: "digits-mlp").allSatisfy { $0 == 2 })
            let all = try await JSONDecoder().decode(
                [Round].self,
                from: Data(
                    fleet.fleetctl(["rounds", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(all.count == 2 && !all.contains { $0.status == "running" })

            // Evaluation rows that do not fit are refused at `round start` (nothing is recorded, the coordinator
            // keeps serving); among them the crafted file that made the old reader reserve 280 GB and abort.
            let crafted = String(repeating: "a,", count: 100_000) + "label\n" + String(repeating: "1\n", count: 350_000)
            let cases = [
                ("crafted", crafted, "--eval-data: line 2: 1 fields, header has 100001"),
                ("no-label", "p0,p1\n1,2\n", "--eval-data: missing column label"),
                ("words", "p0,label\nx,1\n", "--eval-data: row 2, column p0: invalid value x"),
                (
                    "narrow", "p0,p1,label\n1,2,3\n",
                    "--eval-data has 2 feature columns before `label`; the model takes 64"
                ),
                ("empty", "", "empty CSV: no header"),
            ]
            for (name, text, message) in cases {
                let path = "\(fleet.root)/\(name).csv"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let result = try await runCommand(
                    "fleetctl",
                    [
                        "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                        "--min-clients", "2", "--eval-data", path,
                    ]
                )
                #expect(result.status == 1 && result.stderr.contains(message), "\(name): \(result.stderr)")
            }
            #expect(fleet.coordinator?.isRunning == true)
            #expect(
                try await fleet.fleetctl(["rounds", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json"])
                    .components(separatedBy: "\"round\"").count == 3,
                "no round was recorded for the refused starts"
            )
            // The agent's own trainer refuses the same file with the reason (no abort).
            let train = try await runCommand(
                "fleet-agent",
                [
                    "train", "--model-in", "\(fleet.root)/agent-client-0/models/digits-mlp/current.safetensors",
                    "--model-out", "\(fleet.root)/trained.safetensors", "--data", "\(fleet.root)/crafted.csv",
                ]
            )
            #expect(
                train.status != 0 && train.stderr.contains("line 2: 1 fields, header has 100001"),
                "\(train.stderr)"
            )
            await fleet.stopAll()
        }

        @Test func aCoordinatorKilledMidRoundLeavesNoRoundRunningAndWaitEnds() async throws {
            let fleet = try Fleet("killed-round")
            defer { fleet.cleanUp() }
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            try await fleet.startCoordinator()
            try await fleet.startClientsWithAStuckTrainer()
            #expect(try await eventually(timeout: .seconds(60)) { try await fleet.onlineNames().count == 2 })
            try await fleet.grantTraining(0..<2)
            try await fleet.initDigitsModel("digits-mlp")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 2
                }
            )
            let waiting = try FleetProcess(
                "fleetctl",
                [
                    "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                    "--min-clients", "2", "--rounds", "3", "--deadline", "60s", "--wait",
                ],
                logDirectory: fleet.root,
                name: "fleetctl-wait"
            )
            let dbRounds = { () async throws -> [Round] in
                try await JSONDecoder().decode(
                    [Round].self,
                    from: Data(
                        fleet.fleetctl(["rounds", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json"])
                            .utf8
                    )
                )
            }
            #expect(try await eventually(timeout: .seconds(30)) { try await dbRounds().first?.status == "running" })
            fleet.coordinator?.kill9()
            await #expect(try dbRounds().first?.status == "running", "killed mid-round")
            try await fleet.startCoordinator()
            let status = await waiting.waitForExit(timeout: .seconds(30))
            #expect(status == 1, "--wait ended with the failure: \(waiting.log)")
            let rounds = try await dbRounds()
            #expect(rounds.count == 3 && rounds.allSatisfy { $0.status == "failed" }, "\(rounds)")
            #expect(rounds.first?.detail.contains("interrupted") == true)
            #expect(rounds.dropFirst().allSatisfy { $0.detail.contains("not run") })
            #expect(waiting.log.contains("3 of 3 round(s) failed"), "\(waiting.log)")
            await fleet.stopAll()
        }
    }
}
