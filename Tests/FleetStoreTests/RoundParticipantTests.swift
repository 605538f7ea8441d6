import Foundation
import Testing

@testable import FleetStore

/// A participant's status only moves forward: an answer recorded for a round is never overwritten by a repeated
/// or late update, and a late update from a device the round never asked records nothing.
@Suite("Round participants")
struct RoundParticipantTests {
    private func openRound(_ store: CoordinatorStore) async throws -> Int {
        try await store.startRound(
            model: "digits",
            variant: "fp32",
            baseVersion: 1,
            strategy: "fedavg",
            settings: [:],
            seed: 7,
            at: Dates.at(0)
        )
    }

    private func record(
        _ round: Int,
        _ device: String,
        _ status: RoundParticipantRecord.Status,
        samples: Int = 0,
        bytesDown: Int = 0,
        at second: Double
    ) -> RoundParticipantRecord {
        RoundParticipantRecord(
            round: round,
            deviceID: device,
            status: status,
            sampleCount: samples,
            bytesUp: samples * 10,
            bytesDown: bytesDown,
            metrics: ["step": status.rawValue],
            updatedAt: Dates.at(second)
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aRepeatedOrLateUpdateLeavesTheRecordedAnswer(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let round = try await openRound(store)
            for device in ["dev-a", "dev-b"] {
                try await store.setParticipant(record(round, device, .selected, bytesDown: 300, at: 1))
            }
            try await store.setParticipant(record(round, "dev-a", .updated, samples: 73, at: 2))
            try await store.setParticipant(record(round, "dev-b", .declined, at: 2))

            // The same devices again: a resent update (lost ack), then one after the round closed.
            try await store.setParticipant(record(round, "dev-a", .late, samples: 73, at: 3))
            try await store.setParticipant(record(round, "dev-b", .late, at: 3))
            try await store.setParticipant(record(round, "dev-a", .dropped, at: 4))
            try await store.setParticipant(record(round, "dev-b", .updated, samples: 5, at: 4))

            let rows = try await store.participants(round: round)
            #expect(rows.map(\.status) == [.updated, .declined])
            #expect(rows.map(\.sampleCount) == [73, 0])
            #expect(rows.map(\.updatedAt) == [Dates.at(2), Dates.at(2)])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aDroppedDeviceThatAnswersLateIsRecordedLateOnce(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let round = try await openRound(store)
            try await store.setParticipant(record(round, "dev-a", .selected, bytesDown: 300, at: 1))
            try await store.setParticipant(record(round, "dev-a", .dropped, bytesDown: 300, at: 2))
            try await store.setParticipant(record(round, "dev-a", .late, samples: 9, at: 3))
            try await store.setParticipant(record(round, "dev-a", .late, samples: 1, at: 4))

            let rows = try await store.participants(round: round)
            #expect(rows.map(\.status) == [.late])
            #expect(rows.map(\.sampleCount) == [9])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aLateUpdateFromADeviceNeverAskedRecordsNothing(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let round = try await openRound(store)
            try await store.setParticipant(record(round, "intruder", .late, samples: 9, at: 1))
            try await store.setParticipant(record(round + 40, "intruder", .late, samples: 9, at: 1))
            #expect(try await store.participants(round: round).isEmpty)
            #expect(try await store.participants(round: round + 40).isEmpty)
        }
    }
}
