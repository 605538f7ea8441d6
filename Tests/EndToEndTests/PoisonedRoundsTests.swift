import Foundation
import Testing

/// Poisoned devices with real processes: the federation of `FederatedRoundsTests`, where 4 of the 20 agents run
/// an unchanged `fleet-agent` whose trainer plug-in (`Examples/sign-flip-trainer.py`) trains honestly and then
/// uploads the update sign-flipped and scaled ×10. A robust strategy trains the model about as well as it does
/// when the same 4 devices are honest (same initial model, same sampling seed); FedAvg, with the same devices,
/// wrecks it within a few rounds.
extension EndToEnd {
    @Suite(.serialized) struct PoisonedRoundsTests {
        static let plugin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/sign-flip-trainer.py").path
        static let poisoned: Set<Int> = [16, 17, 18, 19]
        static let robustStrategy = "multi-krum=0.4+adam=0.05"

        struct Round: Decodable {
            var round: Int
            var status: String
            var participants: Int
            var testAccuracy: Double?
            var detail: String
        }

        struct RoundDetail: Decodable {
            struct Participant: Decodable {
                var device: String
                var status: String
            }
            var participants: [Participant]
        }

        @Test func robustAggregationTrainsDespitePoisonedDevicesThatBreakFedAvg() async throws {
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = ["python3", "--version"]
            try python.run()
            python.waitUntilExit()
            try #require(python.terminationStatus == 0, "python3 runs the trainer plug-in (.ci/run installs it)")
            let fleet = try Fleet("poisoned")
            defer { fleet.cleanUp() }
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            try await fleet.startCoordinator()
            let tokens = try await fleet.digitsRegionTokens(uses: 5)
            let trainer = "python3 '\(Self.plugin)' '\(Binaries.path("fleet-agent"))' -10"
            for client in 0..<20 {
                var extra = fleet.digitsAgentArguments(client)
                if Self.poisoned.contains(client) { extra += ["--trainer-command", trainer] }
                try fleet.startAgent("client-\(client)", token: tokens[client % 4], extra: extra)
            }
            #expect(try await eventually(timeout: .seconds(60)) { try await fleet.onlineNames().count == 20 })
            try await fleet.grantTraining(0..<20)
            try await fleet.initDigitsModel("digits-mlp")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let online = try await fleet.devices().filter { $0.status == "online" }.count
                    let onV1 = await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count
                    return online == 20 && onV1 == 20
                },
                "all 20 agents run v1"
            )
            let poisonedIDs = Set(
                try await fleet.devices().filter { device in
                    Self.poisoned.contains { device.name == "client-\($0)" }
                }.map(\.id)
            )
            #expect(poisonedIDs.count == 4)

            // 10 of 20 devices per round, as in the clean run; the poisoned devices take part in some rounds.
            let robust = try await rounds(
                fleet,
                ["--strategy", Self.robustStrategy, "--rounds", "10", "--clients", "10", "--seed", "7"]
            )
            #expect(
                robust.count == 10 && robust.allSatisfy { $0.status == "published" },
                "\(robust.map { "round \($0.round) \($0.status): \($0.detail)" }.joined(separator: "\n"))"
            )
            var poisonedUpdates = 0
            for round in robust {
                poisonedUpdates += try await participants(fleet, round.round).filter { poisonedIDs.contains($0) }.count
            }
            let robustAccuracy = robust.compactMap(\.testAccuracy)
            print(
                "\(Self.robustStrategy), \(poisonedUpdates) poisoned updates over 10 rounds, test accuracy: "
                    + robustAccuracy.map { String(format: "%.3f", $0) }.joined(separator: " ")
            )
            #expect(poisonedUpdates >= 5, "the poisoned devices took part")
            #expect((robustAccuracy.last ?? 0) >= 0.80, "the robust strategy trains despite the poisoned updates")

            // FedAvg over all 20 devices (so every round has the 4 poisoned ones), from the robust model.
            let plain = try await rounds(fleet, ["--strategy", "fedavg", "--rounds", "3", "--clients", "20"])
            let plainAccuracy = plain.compactMap(\.testAccuracy)
            print(
                "fedavg with the same devices: "
                    + plainAccuracy.map { String(format: "%.3f", $0) }.joined(separator: " ")
            )
            #expect(plainAccuracy.count == 3)
            #expect(
                (plainAccuracy.min() ?? 1) < (robustAccuracy.last ?? 0) - 0.3,
                "FedAvg visibly breaks under the same poisoned devices"
            )
            // ... and the coordinator holds back what the rule says it must (a round at chance, or below its base by
            // more than half the base's gain over chance, 0.10 for ten classes): a published round never does that,
            // and every round that did is held back with the model kept. Which rounds break that far depends on
            // the run (0.760, 0.447, then 0.200 held back was seen), so the rule is checked, not a count.
            var base = robustAccuracy.last ?? 0
            for round in plain {
                if round.status == "published", let accuracy = round.testAccuracy {
                    #expect(
                        accuracy >= 0.15 && accuracy >= base - (base - 0.1) / 2 - 1e-9,
                        "round \(round.round) published \(accuracy) after \(base): \(round.detail)"
                    )
                    base = accuracy
                } else {
                    #expect(round.detail.contains("held back"), "round \(round.round): \(round.detail)")
                }
            }

            // The clean reference: the same 4 agents restarted without the plug-in, a second model from the same
            // initialisation, the same strategy and sampling seed.
            for client in Self.poisoned {
                let name = "client-\(client)"
                await fleet.agents[name]?.terminate()
                try fleet.startAgent(name, token: nil, extra: fleet.digitsAgentArguments(client))
            }
            try await fleet.initDigitsModel("digits-clean")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let online = try await fleet.onlineNames().count
                    let running = await fleet.installedVersions(of: "digits-clean").count
                    return online == 20 && running == 20
                },
                "all 20 agents run digits-clean v1"
            )
            let clean = try await rounds(
                fleet,
                ["--strategy", Self.robustStrategy, "--rounds", "10", "--clients", "10", "--seed", "7"],
                model: "digits-clean"
            )
            let cleanAccuracy = clean.compactMap(\.testAccuracy)
            print(
                "\(Self.robustStrategy), all devices honest: "
                    + cleanAccuracy.map { String(format: "%.3f", $0) }.joined(separator: " ")
            )
            #expect(cleanAccuracy.count == 10)
            // One seed end to end; `fleet-bench federated --scenario robustness` averages 3 seeds over 60 rounds.
            #expect(
                (robustAccuracy.last ?? 0) >= (cleanAccuracy.last ?? 1) - 0.05,
                "poisoned \(robustAccuracy.last ?? 0) against clean \(cleanAccuracy.last ?? 0)"
            )
            await fleet.stopAll()
        }

        /// The rounds `round start --wait --json` printed (it exits 1 when one failed or was held back). A round ends
        /// as soon as every chosen device answered: the long deadline only matters on a loaded machine.
        private func rounds(_ fleet: Fleet, _ arguments: [String], model: String = "digits-mlp") async throws -> [Round]
        {
            let result = try await runCommand(
                "fleetctl",
                [
                    "round", "start", model, "--data-dir", fleet.coordinatorDirectory, "--deadline", "60s",
                    "--eval-data", "\(fleet.root)/test.csv", "--wait", "--json",
                ] + arguments
            )
            return try JSONDecoder().decode([Round].self, from: Data(result.stdout.utf8))
        }

        private func participants(_ fleet: Fleet, _ round: Int) async throws -> [String] {
            let output = try await fleet.fleetctl([
                "round", "show", "\(round)", "--data-dir", fleet.coordinatorDirectory, "--json",
            ])
            return try JSONDecoder().decode(RoundDetail.self, from: Data(output.utf8)).participants
                .filter { $0.status == "updated" }.map(\.device)
        }

        /// The installed version of `model` on each device that runs it.
    }
}
