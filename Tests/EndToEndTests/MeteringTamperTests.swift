import FleetClient
import FleetTrust
import FleetWire
import Foundation
import Testing

/// Tampering with pay per query, one test per case (`Protocol/METERING.md`, "Verification"), with real
/// processes. An owner edits `agent.sqlite` (rewinding the counter, deleting a receipt, copying another device's
/// grant), or a modified agent sends receipts of its own making with the device's key (a grant replayed from
/// another device, a clock set back a day, receipts sent twice, a receipt signed by another key). Each is
/// refused or flagged with a `usage_tamper` event carrying the evidence, and never billed as less.
extension EndToEnd {
    @Suite(.serialized) struct MeteringTamperTests {
        /// Runs `body` on a fleet of metered agents, with a grant of 10 to each.
        func withFleet(
            _ name: String,
            _ agents: [String] = ["owner"],
            _ body: (MeteringHarness) async throws -> Void
        ) async throws {
            try await MeteringHarness.run(name) { harness in
                try await harness.start(agents)
                for agent in agents {
                    try await harness.grant([
                        agent, "digits-mlp", "--queries", "10", "--price", "1/1000", "--currency", "USD",
                    ])
                    let delivered = try await eventually(timeout: .seconds(10)) {
                        try await harness.quota(agent)?.granted == 10
                    }
                    try #require(delivered)
                }
                try await body(harness)
            }
        }

        func restart(_ harness: MeteringHarness, _ name: String) async throws {
            await harness.fleet.agents[name]?.terminate()
            try harness.fleet.startAgent(name, token: nil, extra: ["--local-socket", harness.socket(name)])
            let serving = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                await harness.serves(name)
            }
            try #require(serving)
        }

        @Test func aCounterRewoundByEditingTheDatabaseIsDetected() async throws {
            try await withFleet("tamper-rewind") { harness in
                #expect(try await harness.inferences("owner", 3) == (3, 0))
                let synced = try await eventually(timeout: .seconds(10)) {
                    try await harness.usage().first?.queries == 3
                }
                try #require(synced)
                await harness.fleet.agents["owner"]?.terminate()
                _ = try await harness.editDatabase("owner", #"DELETE FROM "usageReceipt""#)
                try await restart(harness, "owner")
                #expect(
                    try await harness.quota("owner")?.remaining == 10,
                    "the edit did give the device its queries back"
                )
                #expect(try await harness.inferences("owner", 2) == (2, 0))
                let detected = try await eventually(timeout: .seconds(10)) {
                    try await harness.tamperEvents().contains { $0.detail.contains("rewind or fork at position 0") }
                }
                let recent = try await harness.fleet.events().suffix(5)
                #expect(detected, "\(recent)")
                await #expect(try harness.usage().first?.queries == 3, "never billed as less than what was stored")
            }
        }

        @Test func aReceiptDeletedFromTheMiddleOfTheChainIsAGap() async throws {
            try await withFleet("tamper-gap") { harness in
                await harness.fleet.coordinator?.terminate()
                let offline = try await eventually(timeout: .seconds(15)) {
                    try await harness.quota("owner")?.offline == true
                }
                try #require(offline)
                #expect(try await harness.inferences("owner", 3) == (3, 0))
                await harness.fleet.agents["owner"]?.terminate()
                _ = try await harness.editDatabase("owner", #"DELETE FROM "usageReceipt" WHERE "position" = 1"#)
                try await harness.fleet.startCoordinator(port: harness.fleet.port)
                try await restart(harness, "owner")
                let detected = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                    try await harness.tamperEvents().contains {
                        $0.detail.contains("gap: expected receipt 1, received 2")
                    }
                }
                let recent = try await harness.fleet.events().suffix(5)
                #expect(detected, "\(recent)")
                await #expect(
                    try harness.usage().first?.queries == 1,
                    "receipt 0 is billed; the chain stops at the gap"
                )
            }
        }

        @Test func aGrantCopiedIntoAnotherDevicesDatabaseIsRefused() async throws {
            try await withFleet("tamper-copy", ["payer", "other"]) { harness in
                _ = try await harness.fleet.fleetctl([
                    "quota", "revoke", "--data-dir", harness.fleet.coordinatorDirectory, "other", "digits-mlp",
                ])
                let revoked = try await eventually(timeout: .seconds(10)) {
                    try await harness.quota("other")?.granted == 0
                }
                try #require(revoked)
                await harness.fleet.agents["other"]?.terminate()
                // The payer's grant, copied under a fresh sequence into the other device's database.
                _ = try await harness.editDatabase(
                    "other",
                    #"INSERT INTO "quotaGrant" SELECT "sequence" + 1000, "model", "record" FROM other."quotaGrant""#,
                    attaching: "payer"
                )
                try await restart(harness, "other")
                let quota = try #require(try await harness.quota("other"))
                #expect(quota.granted == 0 && quota.rejectedGrants == 1, "\(quota)")
                let answer = try await harness.infer("other")
                #expect(answer.error == "quota-exhausted")
                #expect(
                    (answer.fields["message"] as? String)?.contains("1 grant(s) rejected") == true,
                    "\(answer.fields)"
                )
                #expect(try await harness.inferences("payer", 1) == (1, 0), "the payer's own grant still works")
            }
        }
    }
}
