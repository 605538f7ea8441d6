import FleetClient
import FleetTrust
import FleetWire
import Foundation
import Testing

/// A modified agent that holds the device's key sends receipts of its own making (`Protocol/METERING.md`,
/// "Verification"): each trick is flagged or refused with a `usage_tamper` event and never billed as less.
extension EndToEnd {
    @Suite(.serialized) struct MeteringForgeryTests {
        /// The device's key and its ledger's head, read from its stopped agent's database.
        struct Forger {
            let harness: MeteringHarness
            let identity: DeviceIdentity
            let deviceID: String
            var head: (position: UInt64, hash: [UInt8])?

            init(_ harness: MeteringHarness, _ name: String) async throws {
                self.harness = harness
                let key = try await Self.hex(
                    harness.editDatabase(name, #"SELECT hex("value") FROM "state" WHERE "key" = 'identity.ed25519'"#)
                )
                identity = try DeviceIdentity(privateKeyBytes: key)
                deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
                let last = try await harness.editDatabase(
                    name,
                    #"SELECT "position" || ':' || hex("hash") FROM "usageReceipt" ORDER BY "position" DESC LIMIT 1"#
                )
                let fields = last.split(separator: "'")
                if fields.count > 1 {
                    let parts = fields[1].split(separator: ":")
                    head = (UInt64(parts[0]) ?? 0, Self.bytes(String(parts[1])))
                }
            }

            static func hex(_ pythonRows: String) throws -> [UInt8] {
                bytes(String(pythonRows.split(separator: "'")[1]))
            }

            static func bytes(_ hex: String) -> [UInt8] {
                stride(from: 0, to: hex.count - 1, by: 2).map {
                    let start = hex.index(hex.startIndex, offsetBy: $0)
                    return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
                }
            }

            /// The next receipt of the chain, signed by `signer` (the device's key unless said otherwise).
            mutating func next(
                grant: UInt64,
                count: UInt64,
                start: Date = Date(),
                end: Date = Date(),
                signer: DeviceIdentity? = nil
            ) throws -> [UInt8] {
                let receipt = UsageReceipt(
                    deviceID: deviceID,
                    index: head.map { $0.position + 1 } ?? 0,
                    previous: head?.hash ?? UsageReceipt.genesis,
                    model: "digits-mlp",
                    version: 1,
                    grant: grant,
                    kind: .granted,
                    count: count,
                    windowStart: start,
                    windowEnd: end
                )
                let signed = try SignedUsageReceipt.sign(receipt, with: signer ?? identity)
                head = (receipt.index, try signed.hash())
                return try signed.encoded()
            }

            /// Sends the receipts as the device and returns the coordinator's answer.
            func send(_ receipts: [[UInt8]]) async throws -> Message {
                let address = CoordinatorAddress(host: "127.0.0.1", port: harness.fleet.port)
                let identity = self.identity
                let deviceID = self.deviceID
                return try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                    let accept = try await connection.hello(role: .device, software: "forger/1")
                    _ = try await connection.authenticate(deviceID: deviceID, identity: identity, nonce: accept.nonce)
                    try await connection.send(.usageReport(UsageReport(requestID: 77, receipts: receipts)))
                    while true {
                        do {
                            let reply = try await connection.expectNext()
                            if reply.requestID == 77 { return reply }
                        } catch let error as FleetClientError {
                            // The client turns an error answer into a thrown refusal: give it back as the message.
                            guard let refusal = error.refusal, refusal.requestID == 77 else { throw error }
                            return .error(refusal)
                        }
                    }
                }
            }
        }

        struct Grant: Decodable {
            var sequence: UInt64
            var name: String
        }

        /// Two metered devices with a grant of 10 each; the owner answered 2 queries, billed; then its agent stops
        /// and `body` plays the modified agent with the owner's key.
        func withForger(
            _ name: String,
            as device: String = "owner",
            _ body: (inout Forger, [String: UInt64]) async throws -> Void
        ) async throws {
            let tests = MeteringTamperTests()
            try await tests.withFleet(name, ["owner", "neighbour"]) { harness in
                #expect(try await harness.inferences("owner", 2) == (2, 0))
                let synced = try await eventually(timeout: .seconds(10)) {
                    try await harness.usage(["--device", "owner"]).first?.queries == 2
                }
                try #require(synced)
                await harness.fleet.agents[device]?.terminate()
                let grants = try JSONDecoder().decode(
                    [Grant].self,
                    from: Data(
                        try await harness.fleet.fleetctl([
                            "quotas", "--data-dir", harness.fleet.coordinatorDirectory, "--json",
                        ]).utf8
                    )
                )
                var forger = try await Forger(harness, device)
                try await body(
                    &forger,
                    Dictionary(grants.map { ($0.name, $0.sequence) }, uniquingKeysWith: { a, _ in a })
                )
            }
        }

        func owner(_ harness: MeteringHarness) async throws -> MeteringHarness.Usage {
            try #require(try await harness.usage(["--device", "owner"]).first)
        }

        @Test func aGrantReplayedFromAnotherDeviceIsFlaggedAndBilled() async throws {
            try await withForger("forge-replayed-grant") { forger, grants in
                let receipt = try forger.next(grant: try #require(grants["neighbour"]), count: 4)
                #expect(try await forger.send([receipt]) == .ack(Ack(requestID: 77)))
                let usage = try await owner(forger.harness)
                #expect(usage.queries == 6 && usage.amountMicros == 6_000 && usage.flags == ["grant-replayed"])
                await #expect(
                    try forger.harness.tamperEvents().contains { $0.detail.hasPrefix("grant-replayed: receipt 2") }
                )
            }
        }

        @Test func aClockSetBackADayIsFlaggedAndBilled() async throws {
            try await withForger("forge-clock") { forger, grants in
                let receipt = try forger.next(
                    grant: try #require(grants["owner"]),
                    count: 1,
                    start: Date().addingTimeInterval(-86_400)
                )
                #expect(try await forger.send([receipt]) == .ack(Ack(requestID: 77)))
                let usage = try await owner(forger.harness)
                #expect(usage.queries == 3 && usage.flags == ["clock-backwards"])
                await #expect(
                    try forger.harness.tamperEvents().contains { $0.detail.hasPrefix("clock-backwards: receipt 2") }
                )
            }
        }

        @Test func receiptsSentAgainAreBilledOnce() async throws {
            try await withForger("forge-replay") { forger, grants in
                let owned = try #require(grants["owner"])
                let receipts = [try forger.next(grant: owned, count: 3), try forger.next(grant: owned, count: 1)]
                #expect(try await forger.send(receipts) == .ack(Ack(requestID: 77)))
                #expect(try await forger.send(receipts) == .ack(Ack(requestID: 77)))
                let usage = try await owner(forger.harness)
                #expect(usage.queries == 6 && usage.amountMicros == 6_000 && usage.flags.isEmpty)
            }
        }

        @Test func aReceiptSignedByAnotherKeyIsRefused() async throws {
            try await withForger("forge-signer") { forger, grants in
                let receipt = try forger.next(
                    grant: try #require(grants["owner"]),
                    count: 5,
                    signer: DeviceIdentity.generate()
                )
                let answer = try await forger.send([receipt])
                guard case .error(let error) = answer else {
                    Issue.record("a receipt of another signer was accepted: \(answer)")
                    return
                }
                #expect(error.code == .conflict && error.message.contains("wrong signer"))
                await #expect(try owner(forger.harness).queries == 2)
                await #expect(
                    try forger.harness.tamperEvents().contains { $0.detail.contains("refused: wrong signer") }
                )
            }
        }

        /// The model-extraction alarm: a device answering 10× its usual daily volume raises `usage_alert` with the
        /// evidence (its own history of 10 a day for a week, then 100 today).
        @Test func aDeviceSendingTenTimesItsUsualVolumeRaisesTheAlert() async throws {
            try await withForger("forge-volume", as: "neighbour") { forger, grants in
                let grant = try #require(grants["neighbour"])
                let day: TimeInterval = 86_400
                let today = (Date().timeIntervalSince1970 / day).rounded(.down) * day
                var receipts: [[UInt8]] = []
                for back in (1...7).reversed() {
                    let noon = Date(timeIntervalSince1970: today - Double(back) * day + day / 2)
                    receipts.append(try forger.next(grant: grant, count: 10, start: noon, end: noon))
                }
                #expect(try await forger.send(receipts) == .ack(Ack(requestID: 77)))
                #expect(try await forger.harness.fleet.events().filter { $0.kind == "usage_alert" }.isEmpty)
                #expect(try await forger.send([try forger.next(grant: grant, count: 100)]) == .ack(Ack(requestID: 77)))
                let alerts = try await forger.harness.fleet.events().filter { $0.kind == "usage_alert" }
                let recent = try await forger.harness.fleet.events().suffix(5)
                #expect(alerts.count == 1, "\(recent)")
                #expect(alerts.first?.detail.hasPrefix("100 queries today, over 5× the median of 10 a day") == true)
            }
        }
    }
}
