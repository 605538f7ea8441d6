import Foundation
import Testing

/// Pay per query with real processes (`Protocol/METERING.md`): a grant signed by the coordinator reaches the
/// device within 10 s, the device answers exactly what it was granted and refuses the rest with a typed
/// refusal, its receipts reach the coordinator, and `fleetctl usage` bills them to the micro-unit.
extension EndToEnd {
    @Suite(.serialized) struct MeteringTests {
        @Test func aGrantOf100AnswersExactly100QueriesAndBillsThem() async throws {
            try await MeteringHarness.run("metering", scenario)
        }

        func scenario(_ harness: MeteringHarness) async throws {
            let fleet = harness.fleet
            try await harness.start(["shop-1"])
            // Without a grant the model is not metered: it answers freely, as before.
            #expect(try await harness.quota("shop-1") == nil)
            #expect(try await harness.infer("shop-1").ok)

            try await harness.grant([
                "shop-1", "digits-mlp", "--queries", "100", "--price", "1.50/1000", "--currency", "USD",
            ])
            let delivered = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                try await harness.quota("shop-1")?.granted == 100
            }
            try #require(delivered, "the grant reached the device within 10 s:\n\(fleet.agents["shop-1"]?.log ?? "")")

            let (answered, refused) = try await harness.inferences("shop-1", 150)
            #expect(answered == 100 && refused == 50)
            let last = try await harness.infer("shop-1")
            #expect(last.error == "quota-exhausted")
            #expect((last.fields["quota"] as? [String: Any])?["remaining"] as? Int == 0)
            #expect((last.fields["message"] as? String)?.contains("100 of 100 granted used") == true, "\(last.fields)")

            var usage: [MeteringHarness.Usage] = []
            let billed = try await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
                usage = try await harness.usage()
                return usage.first?.queries == 100
            }
            try #require(billed, "the receipts reached the coordinator within 10 s: \(usage)")
            let row = try #require(usage.first)
            #expect(usage.count == 1 && row.name == "shop-1" && row.model == "digits-mlp")
            #expect(row.granted == 100 && row.remaining == 0 && row.cloudQueries == 0)
            #expect(row.amount == 0.15 && row.amountMicros == 150_000 && row.currency == "USD")
            #expect(row.flags.isEmpty && row.lastReceiptAt != nil)

            // --since and --until bound the receipts counted; grants still show.
            let tomorrow = Date().addingTimeInterval(86_400).formatted(Date.ISO8601FormatStyle().year().month().day())
            let later = try await harness.usage(["--since", tomorrow])
            #expect(later.count == 1 && later.first?.queries == 0 && later.first?.amountMicros == 0)
            await #expect(try harness.usage(["--until", tomorrow]).first?.queries == 100)
            await #expect(try harness.usage(["--model", "other-model"]).isEmpty)
            // A price that is not a whole number of micro-units per query is refused before anything is sent.
            let inexact = try await runCommand(
                "fleetctl",
                [
                    "quota", "grant", "--data-dir", fleet.coordinatorDirectory, "shop-1", "digits-mlp", "--queries",
                    "1", "--price", "1/3",
                ]
            )
            #expect(
                inexact.status != 0 && inexact.stderr.contains("not a whole number of micro-units"),
                "\(inexact.stderr)"
            )

            // The month's CSV adds up to the same amount, to the micro-unit.
            let month = Date().formatted(Date.ISO8601FormatStyle().year().month())
            let csv = try await fleet.fleetctl([
                "usage", "export", "--data-dir", fleet.coordinatorDirectory, "--format", "csv", "--period", month,
            ])
            let lines = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
            #expect(lines.count == 1 && lines.first?[4] == "100" && lines.first?[6] == "0.150000", "\(csv)")

            // Grants add up; `infer FILE.csv` answers what it may and exits non-zero for the rest.
            try await harness.grant([
                "shop-1", "digits-mlp", "--queries", "3", "--price", "1.50/1000", "--currency", "USD",
            ])
            let topped = try await eventually(timeout: .seconds(10)) {
                try await harness.quota("shop-1")?.remaining == 3
            }
            try #require(topped)
            // An application with its own runtime reports 2 inferences through `meter`: the same accounting.
            let metered = try await LocalSocketProbe.request(
                ["op": "meter", "model": "digits-mlp", "count": 2],
                path: harness.socket("shop-1")
            )
            #expect(metered.ok && metered.fields["count"] as? Int == 2, "\(metered.fields)")
            let rows = fleet.root + "/rows.csv"
            let header = (0..<64).map { "p\($0)" }.joined(separator: ",")
            let line = [String](repeating: "4", count: 64).joined(separator: ",")
            try ([header] + [String](repeating: line, count: 5)).joined(separator: "\n").appending("\n")
                .write(toFile: rows, atomically: true, encoding: .utf8)
            let result = try await runCommand(
                "fleet-agent",
                ["infer", "--data-dir", harness.directory("shop-1"), "--local-socket", harness.socket("shop-1"), rows]
            )
            #expect(result.status != 0, "\(result.stdout)")
            #expect(result.stderr.contains("4 of 5 row(s) refused"), "\(result.stderr)")
            #expect(
                result.stdout.split(separator: "\n").filter { $0.contains("\t") }.count == 1 + 1,
                "\(result.stdout)"
            )
            #expect(result.stdout.contains("1 of 5 row(s) through digits-mlp"), "\(result.stdout)")

            // `quotas` lists both grants; a revoke reaches the device and leaves nothing to answer.
            struct Grant: Decodable {
                var queries: UInt64
                var state: String
                var priceMicros: UInt64
            }
            let grants = try JSONDecoder().decode(
                [Grant].self,
                from: Data(
                    try await fleet.fleetctl(["quotas", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(
                grants.map(\.queries) == [100, 3]
                    && grants.allSatisfy { $0.state == "active" && $0.priceMicros == 1500 }
            )
            _ = try await fleet.fleetctl([
                "quota", "revoke", "--data-dir", fleet.coordinatorDirectory, "shop-1", "digits-mlp",
            ])
            let revoked = try await eventually(timeout: .seconds(10)) {
                try await harness.quota("shop-1")?.granted == 0
            }
            #expect(revoked)
            #expect(try await harness.infer("shop-1").error == "quota-exhausted")
            let refusedMeter = try await LocalSocketProbe.request(
                ["op": "meter", "model": "digits-mlp", "count": 1],
                path: harness.socket("shop-1")
            )
            #expect(refusedMeter.error == "quota-exhausted")
            let json = try await runCommand(
                "fleet-agent",
                [
                    "infer", "--data-dir", harness.directory("shop-1"), "--local-socket", harness.socket("shop-1"),
                    rows,
                    "--json",
                ]
            )
            struct Refused: Decodable {
                var refused: Int
                var refusedRows: [Int]
                var predictions: [Int]
            }
            let view = try JSONDecoder().decode(Refused.self, from: Data(json.stdout.utf8))
            #expect(
                json.status != 0 && view.refused == 5 && view.refusedRows == [0, 1, 2, 3, 4] && view.predictions.isEmpty
            )
            let final = try await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
                try await harness.usage().first?.queries == 103
            }
            let billedAll = try await harness.usage()
            #expect(final, "103 queries billed: \(billedAll)")
            await #expect(try harness.usage().first?.amountMicros == 154_500)
        }

        /// Receipts go to the coordinator when the socket records them, not with the next message from the
        /// coordinator: with heartbeats a minute apart, usage is billed within seconds (and an idle agent does not
        /// poll its ledger).
        @Test func receiptsAreSentWhenRecordedNotAtTheNextHeartbeat() async throws {
            try await MeteringHarness.run("metering-at-once") { harness in
                harness.fleet.heartbeat = "60s"
                harness.fleet.offlineTimeout = "180s"
                try await harness.start(["shop-1"])
                try await harness.grant(["shop-1", "digits-mlp", "--queries", "10"])
                let delivered = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                    try await harness.quota("shop-1")?.granted == 10
                }
                try #require(delivered, "the grant reached the device")
                #expect(try await harness.inferences("shop-1", 3) == (3, 0))
                var usage: [MeteringHarness.Usage] = []
                let billed = try await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
                    usage = try await harness.usage()
                    return usage.first?.queries == 3
                }
                #expect(billed, "3 queries billed within 10 s with heartbeats 60 s apart: \(usage)")
            }
        }

        /// `model push --metered`: the model answers nothing until a grant arrives, then exactly the grant.
        @Test func aModelPushedMeteredAnswersNothingUntilGranted() async throws {
            try await MeteringHarness.run("metering-pushed") { harness in
                try await harness.start(["kiosk-1"], push: ["--metered"])
                let quota = try #require(try await harness.quota("kiosk-1"), "metered before any grant")
                #expect(quota.granted == 0 && quota.remaining == 0)
                #expect(try await harness.infer("kiosk-1").error == "quota-exhausted")
                try await harness.grant(["kiosk-1", "digits-mlp", "--queries", "2"])
                let delivered = try await eventually(timeout: .seconds(10)) {
                    try await harness.quota("kiosk-1")?.granted == 2
                }
                try #require(delivered)
                #expect(try await harness.inferences("kiosk-1", 3) == (2, 1))
            }
        }
    }
}
