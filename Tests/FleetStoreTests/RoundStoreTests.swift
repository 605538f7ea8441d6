import Foundation
import Testing

@testable import FleetStore

/// Rounds, their evaluation sets and a restart's clean-up, on every backend.
@Suite struct RoundStoreTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func roundsReadBackWithTheirOutcomeAndAnInterruptedJobIsRecordedFailed(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let first = try await store.startRound(
                model: "digits",
                variant: "fp32",
                baseVersion: 1,
                strategy: "fedavg",
                settings: ["lr": "0.1", "job": "1/3"],
                seed: UInt64.max,
                at: Dates.at(1)
            )
            let other = try await store.startRound(
                model: "kws",
                variant: "int8",
                baseVersion: 4,
                strategy: "fedadam",
                settings: [:],
                seed: 2,
                at: Dates.at(2)
            )
            #expect(other == first + 1)
            try await store.finishRound(
                id: other,
                status: .published,
                publishedVersion: 5,
                testAccuracy: 0.875,
                bytesUp: 10,
                bytesDown: 20,
                detail: "published v5",
                at: Dates.at(3)
            )
            let published = try #require(try await store.round(id: other))
            #expect(published.status == .published && published.publishedVersion == 5)
            #expect(published.testAccuracy == 0.875 && published.bytesDown == 20 && published.endedAt == Dates.at(3))
            #expect(try await store.fleetGauges().latestRoundAccuracy == ["kws": 0.875])
            let running = try #require(try await store.round(id: first))
            #expect(running.settings == ["lr": "0.1", "job": "1/3"] && running.seed == UInt64.max)
            #expect(running.status == .running && running.testAccuracy == nil && running.endedAt == nil)

            // The coordinator stopped in round 1 of 3: round 1 fails, rounds 2 and 3 are recorded as skipped.
            let ended = try await store.failInterruptedRounds(
                detail: "stopped",
                skippedDetail: "skipped",
                at: Dates.at(4)
            )
            #expect(ended == [first, other + 1, other + 2])
            let digits = try await store.rounds(model: "digits")
            #expect(digits.map(\.status) == [.failed, .failed, .failed])
            #expect(digits.map(\.detail) == ["stopped", "skipped", "skipped"])
            #expect(digits.dropFirst().allSatisfy { $0.settings == ["lr": "0.1"] })
            #expect(try await store.rounds(model: nil).count == 4)
            #expect(try await store.round(id: 99) == nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func anEvaluationSetIsReplaced(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.evaluationSet(model: "digits") == nil)
            try await store.setEvaluationSet(model: "digits", csv: Array("a,b\n".utf8), at: Dates.at(1))
            try await store.setEvaluationSet(model: "digits", csv: Array("a,b,label\n".utf8), at: Dates.at(2))
            #expect(try await store.evaluationSet(model: "digits") == Array("a,b,label\n".utf8))
        }
    }
}
