import Foundation
import Testing

/// A federated round over a fleet spread across two coordinators on one PostgreSQL (issue 12, item 2): training
/// tasks reach the devices on the other coordinator through the outbox, their updates come back through the
/// database, and the round publishes once. Real coordinators, agents training on digits rows, fleetctl.
extension EndToEnd {
    @Suite(.serialized) struct RoundAcrossCoordinatorsTests {
        @Test func aRoundStartedOnOneCoordinatorTrainsDevicesOnBothAndPublishesOnce() async throws {
            let (first, second) = try await Fleet.sharingADatabase("round-across")
            try FederatedRoundsTests.splitDigits(into: first.root)
            try await first.startCoordinator()
            try await second.startCoordinator()
            try await first.run { first in
                try await second.run { second in
                    let token = try await first.createToken(uses: 4)
                    for client in 0..<4 {
                        // Clients 0 and 1 on the first coordinator, 2 and 3 on the second.
                        try first.startAgent(
                            "client-\(client)",
                            token: token.token,
                            coordinators: "127.0.0.1:\(client < 2 ? first.port : second.port)",
                            extra: first.digitsAgentArguments(client)
                        )
                    }
                    try await expectEventually(timeout: .seconds(60)) {
                        try await first.onlineNames().count == 4
                    } message: {
                        "four agents online: \(first.summary)"
                    }
                    try await first.grantTraining(0..<4)
                    try await first.initDigitsModel("digits-mlp")
                    try await expectEventually(timeout: .seconds(60)) {
                        await first.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 4
                    } message: {
                        "all four run v1: \(first.summary)"
                    }
                    let waited = try await runCommand(
                        "fleetctl",
                        [
                            "round", "start", "digits-mlp", "--data-dir", first.coordinatorDirectory, "--clients", "4",
                            "--min-clients", "4", "--deadline", "120s", "--wait",
                        ]
                    )
                    #expect(waited.status == 0, "\(waited.stdout)\n\(waited.stderr)")
                    let rounds = try JSONDecoder().decode(
                        [BrokenUpdatesTests.Round].self,
                        from: Data(
                            try await first.fleetctl([
                                "rounds", "digits-mlp", "--data-dir", first.coordinatorDirectory, "--json",
                            ]).utf8
                        )
                    )
                    #expect(rounds.count == 1, "\(rounds)")
                    let round = try #require(rounds.first)
                    #expect(round.status == "published" && round.publishedVersion == 2, "\(round)")
                    #expect(round.participants == 4, "every device took part, on both coordinators: \(round)")
                    // v2 reaches all four, on both coordinators.
                    try await expectEventually(timeout: .seconds(60)) {
                        await first.installedVersions(of: "digits-mlp").filter { $0 == 2 }.count == 4
                    } message: {
                        "all four run v2: \(first.summary)"
                    }
                }
            }
        }
    }
}
