import Foundation
import Testing

/// Round jobs under a lease (issue 12, item 2, single-owner work): two coordinators on one PostgreSQL. Real
/// coordinators, agents and fleetctl.
extension EndToEnd {
    @Suite(.serialized) struct RoundLeaseTests {
        /// A coordinator that starts beside a running round job leaves it alone; when the job's coordinator is
        /// killed, the other one records its rounds as failed (the running one interrupted, the rest not run) once
        /// the lease has expired.
        @Test func theOtherCoordinatorEndsTheRoundsOfOneThatDiedAndOnlyThen() async throws {
            let (first, second) = try await Fleet.sharingADatabase("lease", arguments: ["--lease-duration", "3s"])
            try FederatedRoundsTests.splitDigits(into: first.root)
            try await first.startCoordinator()
            try await first.run { first in
                try await first.startClientsWithAStuckTrainer()
                try await expectEventually(timeout: .seconds(60)) {
                    try await first.onlineNames().count == 2
                } message: {
                    "both agents online: \(first.summary)"
                }
                try await first.grantTraining(0..<2)
                try await first.initDigitsModel("digits-mlp")
                try await expectEventually(timeout: .seconds(60)) {
                    await first.installedVersions(of: "digits-mlp").filter { $0 == 1 }.count == 2
                } message: {
                    "both run v1: \(first.summary)"
                }
                _ = try await first.fleetctl([
                    "round", "start", "digits-mlp", "--data-dir", first.coordinatorDirectory, "--clients", "2",
                    "--min-clients", "2", "--rounds", "3", "--deadline", "90s",
                ])
                let rounds = { () async throws -> [BrokenUpdatesTests.Round] in
                    try JSONDecoder().decode(
                        [BrokenUpdatesTests.Round].self,
                        from: Data(
                            try await first.fleetctl([
                                "rounds", "digits-mlp", "--data-dir", first.coordinatorDirectory, "--json",
                            ]).utf8
                        )
                    )
                }
                try await expectEventually(timeout: .seconds(30)) {
                    try await rounds().first?.status == "running"
                } message: {
                    "round 1 runs: \(await first.describeRounds(rounds))"
                }

                // The second coordinator starts, and checks for interrupted rounds every second: round 1 runs on.
                try await second.startCoordinator()
                try await second.run { second in
                    try await Task.sleep(for: .seconds(8))
                    let running = try await rounds()
                    #expect(running.count == 1 && running.first?.status == "running", "\(running)")
                    #expect(
                        second.coordinator?.log.contains("interrupted") == false,
                        "\(second.coordinator?.log ?? "")"
                    )

                    // The first coordinator dies mid-round: the second ends its job once the lease (3 s) expired.
                    first.coordinator?.kill9()
                    try await expectEventually(timeout: .seconds(30)) {
                        let ended = try await rounds()
                        return ended.count == 3 && ended.allSatisfy { $0.status == "failed" }
                    } message: {
                        "the job's rounds failed: \(await first.describeRounds(rounds))"
                    }
                    let ended = try await rounds()
                    #expect(ended.first?.detail.contains("interrupted") == true, "\(ended)")
                    #expect(ended.dropFirst().allSatisfy { $0.detail.contains("not run") }, "\(ended)")
                    #expect(second.coordinator?.log.contains("rounds interrupted by a stop recorded as failed") == true)
                }
            }
        }
    }
}

extension Fleet {
    /// `rounds()`'s rows, or why they could not be read, for a failure message.
    func describeRounds(_ rounds: () async throws -> [EndToEnd.BrokenUpdatesTests.Round]) async -> String {
        do { return "\(try await rounds())" } catch { return "\(error)" }
    }
}
