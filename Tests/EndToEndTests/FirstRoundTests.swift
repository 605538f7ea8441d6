import Foundation
import Testing

/// A newcomer's first federated round: `model init` with its defaults (no `--feature-scale`) on two devices that
/// hold the raw 0–16 digits training rows, `round start --clients 2 --min-clients 2` with the defaults. The
/// model scales each row itself (`feature-scale: auto`), so the rounds train it; a model that would score at
/// chance is held back instead of published.
extension EndToEnd {
    @Suite(.serialized) struct FirstRoundTests {
        struct Round: Decodable {
            var round: Int
            var status: String
            var testAccuracy: Double?
            var publishedVersion: Int?
            var detail: String
        }

        @Test func twoDevicesWithRawDigitsPass85PercentWithinFiveRoundsOnTheDefaults() async throws {
            let fleet = try Fleet("first-round")
            defer { fleet.cleanUp() }
            try FederatedRoundsTests.splitDigits(into: fleet.root)
            // Two devices, each with half of the raw training rows (clients 0–9 and 10–19 of the split).
            for device in 0..<2 {
                var rows: [String] = []
                for client in (device * 10)..<(device * 10 + 10) {
                    let lines = try String(contentsOfFile: "\(fleet.root)/client-\(client).csv", encoding: .utf8)
                        .split(separator: "\n").map(String.init)
                    if rows.isEmpty { rows.append(lines[0]) }
                    rows += lines.dropFirst()
                }
                try (rows.joined(separator: "\n") + "\n").write(
                    toFile: "\(fleet.root)/device-\(device).csv",
                    atomically: true,
                    encoding: .utf8
                )
            }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 2)
            for device in 0..<2 {
                try fleet.startAgent(
                    "device-\(device)",
                    token: token.token,
                    extra: ["--train-data", "\(fleet.root)/device-\(device).csv", "--log-level", "warning"]
                )
            }
            #expect(try await eventually(timeout: .seconds(60)) { try await fleet.onlineNames().count == 2 })
            for device in 0..<2 {
                let granted = try await runCommand(
                    "fleet-agent",
                    ["consent", "grant", "training", "--data-dir", "\(fleet.root)/agent-device-\(device)"]
                )
                #expect(granted.status == 0, "\(granted.stderr)")
            }
            _ = try await fleet.fleetctl([
                "model", "init", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--layers", "64,64,10",
            ])
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await fleet.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 2
                }
            )
            // The defaults (--clients 10, --min-clients 8) cannot run on 2 devices: refused at once, saying why.
            let defaults = try await runCommand(
                "fleetctl",
                ["round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--wait"]
            )
            #expect(defaults.status == 1)
            #expect(
                defaults.stderr.contains("round cannot run: min-clients 8 but 2 device(s) can train: 2 eligible "),
                "\(defaults.stderr)"
            )
            let result = try await runCommand(
                "fleetctl",
                [
                    "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                    "--min-clients", "2", "--rounds", "5", "--eval-data", "\(fleet.root)/test.csv", "--wait",
                    "--json",
                ]
            )
            let rounds = try JSONDecoder().decode([Round].self, from: Data(result.stdout.utf8))
            let accuracies = rounds.compactMap(\.testAccuracy)
            print(
                "raw rows, model init defaults: " + accuracies.map { String(format: "%.3f", $0) }.joined(separator: " ")
            )
            #expect(rounds.count == 5)
            #expect(
                rounds.first?.status == "published",
                "the first round already beats chance: \(rounds.first?.detail ?? "")"
            )
            #expect((accuracies.max() ?? 0) >= 0.85, "85 % within 5 rounds: \(accuracies)")
            await fleet.stopAll()
        }
    }
}
