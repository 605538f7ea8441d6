import Foundation
import Testing

/// Pay per query on a microcontroller leaf (`fleet-tiny-sim`: FleetTinyKit's TinyLeafMeter) behind a gateway
/// `fleet-agent`, with a real coordinator: the leaf receives its signed grant through the gateway, answers exactly
/// what it was granted across a restart, and its receipts (signed with the leaf's own key) are billed.
extension EndToEnd {
    @Suite(.serialized) struct LeafMeteringTests {
        @Test func aLeafGranted100Answers100Of150AcrossARestartAndIsBilled() async throws {
            try await MeteringHarness.run("leafmeter", scenario)
        }

        func scenario(_ harness: MeteringHarness) async throws {
            let fleet = harness.fleet
            let gateways = GatewayLeavesTests()
            try await fleet.startCoordinator()
            let (_, leafPort) = try await gateways.startGateway(fleet)
            try await gateways.push(fleet, version: 1, variant: "int8", minimumRAM: "64KiB")
            let token = try await fleet.createToken()

            // The rows: 64 digit pixels and a label, scaled by 1/16 as the digits model expects.
            let rows = fleet.root + "/rows.csv"
            let header = (0..<64).map { "p\($0)" } + ["label"]
            let line = [String](repeating: "4", count: 64) + ["0"]
            try ([header.joined(separator: ",")] + [String](repeating: line.joined(separator: ","), count: 7))
                .joined(separator: "\n").appending("\n").write(toFile: rows, atomically: true, encoding: .utf8)
            func startLeaf(infer: Int, name: String) throws -> FleetProcess {
                var arguments = [
                    "--gateway", "127.0.0.1:\(leafPort)", "--token", token.token, "--count", "1",
                    "--state-dir", fleet.root + "/leaves",
                ]
                if infer > 0 {
                    arguments += ["--infer", "\(infer)", "--infer-csv", rows, "--feature-scale", "0.0625"]
                }
                return try FleetProcess("fleet-tiny-sim", arguments, logDirectory: fleet.root, name: name)
            }

            // Enrol and install v1 first, then grant the leaf 100 queries.
            let first = try startLeaf(infer: 0, name: "sim-0")
            let installed = try await eventually(timeout: .seconds(60), every: .seconds(1)) {
                try await gateways.leaves(fleet).first?.installedModels.first?.version == 1
            }
            try #require(installed, "the leaf installed v1:\n\(first.log)")
            let leafID = try await #require(try gateways.leaves(fleet).first?.id)
            // Pushed to the connected leaf (quotaGrants, request id 0) through the gateway: kept in its meter record.
            try await harness.grant([
                leafID, "digits-mlp", "--queries", "100", "--price", "1.50/1000", "--currency", "USD",
            ])
            let grantRecord = fleet.root + "/leaves/leaf-0/meter-1"
            let pushed = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                FileManager.default.fileExists(atPath: grantRecord)
            }
            #expect(pushed, "the pushed grant reached the leaf within 10 s:\n\(first.log)")
            #expect(!first.log.contains("disconnected"), "\(first.log)")
            await first.terminate()

            // 60 queries, then a restart, then 90 more: 40 answered, 50 refused (no free queries after a restart).
            let second = try startLeaf(infer: 60, name: "sim-1")
            let firstRun = try await eventually(timeout: .seconds(60)) { second.log.contains("inferences ") }
            try #require(firstRun, "\(second.log)")
            #expect(second.log.contains("inferences answered 60 refused 0 (quota-exhausted 0)"), "\(second.log)")
            var usage: [MeteringHarness.Usage] = []
            let synced = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
                usage = try await harness.usage()
                return usage.first { $0.device == leafID }?.queries == 60
            }
            try #require(synced, "the leaf's receipts reached the coordinator: \(usage)\n\(second.log)")
            await second.terminate()

            let third = try startLeaf(infer: 90, name: "sim-2")
            let secondRun = try await eventually(timeout: .seconds(60)) { third.log.contains("inferences ") }
            try #require(secondRun, "\(third.log)")
            #expect(third.log.contains("inferences answered 40 refused 50 (quota-exhausted 50)"), "\(third.log)")
            let billed = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
                usage = try await harness.usage()
                return usage.first { $0.device == leafID }?.queries == 100
            }
            try #require(billed, "\(usage)\n\(third.log)")
            let row = try #require(usage.first { $0.device == leafID })
            #expect(row.name == "leaf-0" && row.model == "digits-mlp")
            #expect(row.queries == 100 && row.granted == 100 && row.remaining == 0 && row.cloudQueries == 0)
            #expect(row.amount == 0.15 && row.amountMicros == 150_000 && row.currency == "USD")
            #expect(row.flags.isEmpty, "no tampering flagged: \(row.flags)")
            await third.terminate()
        }
    }
}
