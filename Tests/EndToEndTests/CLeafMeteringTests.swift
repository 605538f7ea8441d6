import Foundation
import Testing

/// Pay per query from C: the C leaf (`Examples/c-leaf/host-leaf.c`, FleetTinyKit through `tinyfleet.h`) behind a real
/// gateway and coordinator, metered within a real grant. The model is pushed `--metered`; the leaf asks its queries
/// through `tinyfleet_predict` and reads `tinyfleet_get_meter_status` after them (`host-leaf --queries K`).
extension EndToEnd {
    @Suite(.serialized) struct CLeafMeteringTests {
        /// `TINYFLEET_ERR_QUOTA_EXHAUSTED` in tinyfleet.h: the code a query past the grant is refused with.
        static let quotaExhausted = -10

        /// Granted 20 queries at 1.50/1000: before the grant 2 queries are refused (`--metered`), then 12 answered,
        /// a restart, and of 13 more 8 answered and 5 refused with quota-exhausted; `fleetctl usage` bills 20.
        @Test func aLeafWrittenInCAnswersItsGrantAcrossARestartRefusesTheRestAndIsBilled() async throws {
            try await MeteringHarness.run("c-leaf-meter", scenario)
        }

        func scenario(_ harness: MeteringHarness) async throws {
            let fleet = harness.fleet
            let gateways = GatewayLeavesTests()
            let program = try await CLeafTests.buildLeaf()
            try await fleet.startCoordinator()
            let (gatewayID, leafPort) = try await gateways.startGateway(fleet)
            try await gateways.push(fleet, version: 1, variant: "int8", minimumRAM: "64KiB", extra: ["--metered"])
            let token = try await fleet.createToken()
            // The host's own classes of the test rows: the leaf asks the rows in order, from the first, in each run.
            let expected = Array(try CLeafTests.hostClasses(version: 1))
            func startLeaf(queries: Int, name: String) throws -> FleetProcess {
                let arguments = [
                    "--gateway", "127.0.0.1:\(leafPort)", "--token", token.token, "--state-dir",
                    fleet.root + "/c-leaf", "--name", "leaf-c", "--rows", CLeafTests.digits, "--queries", "\(queries)",
                ]
                return try FleetProcess(program, arguments, logDirectory: fleet.root, name: name)
            }
            /// The run's outcome once printed: the classes (`-` refused), correct and refused counts.
            func outcome(_ leaf: FleetProcess, queries: Int) async throws -> (classes: String, refused: Int) {
                let done = try await expectEventually(timeout: .seconds(90), every: .milliseconds(200)) {
                    CLeafTests.correct(leaf.log, version: 1, queries: queries) != nil
                } message: {
                    "the C leaf asked its \(queries) queries: \(leaf.log)"
                }
                try #require(done)
                let counts = try #require(CLeafTests.correct(leaf.log, version: 1, queries: queries))
                let classes = try #require(CLeafTests.leafClasses(leaf.log, version: 1, queries: queries))
                return (classes, counts.refused)
            }

            // Enrol and install v1, pushed --metered: without a grant the leaf answers nothing.
            let first = try startLeaf(queries: 2, name: "c-leaf-0")
            let before = try await outcome(first, queries: 2)
            #expect(before.classes == "--" && before.refused == 2, "\(first.log)")
            #expect(first.log.contains("refused 2 queries: quota-exhausted (\(Self.quotaExhausted))"), "\(first.log)")
            #expect(
                first.log.contains("meter: grant sequence 0, model metered 0, pushed metered 1, remaining 0,"),
                "\(first.log)"
            )
            let device = try #require(try await gateways.leaves(fleet).first)
            #expect(device.name == "leaf-c" && device.gateway == gatewayID)
            /// The leaf's row of `fleetctl usage --json` once it bills `queries` (the signed receipts reached the
            /// coordinator's ledger), nil (and a failed expectation) if it does not within 20 s.
            func billed(_ queries: UInt64, _ leaf: FleetProcess) async throws -> MeteringHarness.Usage? {
                var usage: [MeteringHarness.Usage] = []
                let reached = try await expectEventually(timeout: .seconds(20), every: .milliseconds(200)) {
                    usage = try await harness.usage()
                    return usage.first { $0.device == device.id }?.queries == queries
                } message: {
                    "the coordinator bills the C leaf \(queries) queries: \(usage)\n\(leaf.log)"
                }
                return reached ? usage.first { $0.device == device.id } : nil
            }

            // The grant, pushed to the connected leaf through the gateway and stored in its meter records.
            try await harness.grant([
                device.id, "digits-mlp", "--queries", "20", "--price", "1.50/1000", "--currency", "USD",
            ])
            let held = try await expectEventually(timeout: .seconds(20), every: .milliseconds(100)) {
                first.log.contains("quota grant 1 held, remaining 20")
            } message: {
                "the grant reached the C leaf: \(first.log)"
            }
            try #require(held)
            await first.terminate()
            #expect(first.process.terminationStatus == 0 && first.log.contains("stopped"), "\(first.log)")

            // A restart, then 12 queries: all answered, each the host's class of its row; 8 left.
            let second = try startLeaf(queries: 12, name: "c-leaf-1")
            let answered = try await outcome(second, queries: 12)
            #expect(answered.classes == String(expected[0..<12]) && answered.refused == 0, "\(second.log)")
            #expect(
                second.log.contains("meter: grant sequence 1, model metered 1, pushed metered 1, remaining 8,"),
                "\(second.log)"
            )
            try #require(try await billed(12, second) != nil)
            await second.terminate()

            // Another restart, then 13 queries: the 8 left are answered, the 9th and the rest refused.
            let third = try startLeaf(queries: 13, name: "c-leaf-2")
            let last = try await outcome(third, queries: 13)
            #expect(last.classes == String(expected[0..<8]) + "-----" && last.refused == 5, "\(third.log)")
            #expect(third.log.contains("refused 5 queries: quota-exhausted (\(Self.quotaExhausted))"), "\(third.log)")
            #expect(
                third.log.contains("meter: grant sequence 1, model metered 1, pushed metered 1, remaining 0,"),
                "\(third.log)"
            )
            let row = try #require(try await billed(20, third))
            #expect(row.name == "leaf-c" && row.model == "digits-mlp")
            #expect(row.queries == 20 && row.granted == 20 && row.remaining == 0 && row.cloudQueries == 0)
            #expect(row.amount == 0.03 && row.amountMicros == 30_000 && row.currency == "USD")
            #expect(row.flags.isEmpty, "no tampering flagged: \(row.flags)")
            let acknowledged = try await eventually(timeout: .seconds(10)) {
                third.log.contains("usage receipts acknowledged")
            }
            #expect(acknowledged, "the coordinator acknowledged the receipts to the leaf: \(third.log)")
            #expect(try await gateways.leaves(fleet).count == 1, "one device across the restarts")
            await third.terminate()
        }
    }
}
