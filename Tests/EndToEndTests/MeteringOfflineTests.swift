import Foundation
import Testing

/// Metering without the coordinator (`Protocol/METERING.md`, "Balance" 5): the device answers within its grant
/// plus its offline grace, then refuses; when the coordinator returns, the receipts arrive and the bill is exact.
extension EndToEnd {
    @Suite(.serialized) struct MeteringOfflineTests {
        @Test func offlineTheDeviceAnswersItsGrantPlusGraceAndIsBilledExactlyAfter() async throws {
            try await MeteringHarness.run("metering-offline", scenario)
        }

        func scenario(_ harness: MeteringHarness) async throws {
            let fleet = harness.fleet
            try await harness.start(["edge-1"])
            try await harness.grant([
                "edge-1", "digits-mlp", "--queries", "10", "--offline-grace", "5", "--price", "2/1000",
                "--currency", "EUR",
            ])
            let delivered = try await eventually(timeout: .seconds(10)) {
                try await harness.quota("edge-1")?.granted == 10
            }
            try #require(delivered)
            #expect(try await harness.inferences("edge-1", 4) == (4, 0))
            let synced = try await eventually(timeout: .seconds(10)) { try await harness.usage().first?.queries == 4 }
            try #require(synced)

            await fleet.coordinator?.terminate()
            let offline = try await eventually(timeout: .seconds(15)) {
                try await harness.quota("edge-1")?.offline == true
            }
            try #require(offline, "the agent noticed the coordinator is gone")
            // 6 left in the grant, then 5 of grace, then refusals.
            #expect(try await harness.inferences("edge-1", 20) == (11, 9))
            #expect(try await harness.quota("edge-1")?.graceRemaining == 0)

            try await fleet.startCoordinator(port: fleet.port)
            var usage: [MeteringHarness.Usage] = []
            let billed = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                usage = try await harness.usage()
                return usage.first?.queries == 15
            }
            try #require(billed, "the offline receipts arrived: \(usage)")
            let row = try #require(usage.first)
            #expect(row.amountMicros == 30_000 && row.amount == 0.03 && row.currency == "EUR")
            #expect(row.granted == 10 && row.remaining == 0 && row.flags.isEmpty)
            // Connected again, the grace does not apply: nothing more is answered.
            let online = try await eventually(timeout: .seconds(15)) {
                try await harness.quota("edge-1")?.offline == false
            }
            #expect(online)
            #expect(try await harness.inferences("edge-1", 3) == (0, 3))
        }
    }
}
