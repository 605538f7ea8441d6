import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// Consent races on the coordinator, with a real SQLite database on disk: whatever the interleaving of a
/// revocation and the sample batches around it, no sample survives the revocation.
extension ObservabilityServiceTests {
    @Test func noSampleSurvivesARevocationInAnyInterleaving() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-race-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = try await setUp(store: try CoordinatorStore(path: directory + "/coordinator.sqlite"))
        var stored = 0
        var refused = 0
        for round in 0..<40 {
            let grant = try record(setup, .samples, .grant, sequence: UInt64(2 * round + 1))
            #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
            let revoke = try record(setup, .samples, .revoke, sequence: UInt64(2 * round + 2))
            let batches = try (0..<6).map { try batch(key: "\(round)-\($0)", rows: 3) }
            // Every position of the revocation among the batches, with the tasks' starts staggered differently.
            let revokeAt = round % 7
            let yields = (0..<7).map { (($0 + 1) * (round + 3)) % 4 }
            let replies = await withTaskGroup(of: (isRevoke: Bool, reply: Message?).self) { group in
                for slot in 0..<7 {
                    group.addTask {
                        for _ in 0..<yields[slot] { await Task.yield() }
                        if slot == revokeAt { return (true, await consent(setup, revoke)) }
                        let batch = batches[slot < revokeAt ? slot : slot - 1]
                        return (false, await send(setup, .sampleBatch(batch)))
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.first { $0.isRevoke }?.reply == .ack(Ack(requestID: 7)), "round \(round)")
            for (_, reply) in replies.filter({ !$0.isRevoke }) {
                if reply == .ack(Ack(requestID: 9)) {
                    stored += 1
                } else if errorCode(reply) == .conflict {
                    refused += 1
                }
            }
            #expect(
                try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 0,
                "round \(round): samples survived a revocation"
            )
        }
        #expect(stored + refused == 240, "every batch was either stored (then erased) or refused")
        print("consent race: 40 rounds, \(stored) batches stored then erased, \(refused) refused after the revocation")
    }

    @Test func aRevocationDatedAheadIsInForceAtOnce() async throws {
        let setup = try await setUp()
        let grant = try record(setup, .samples, .grant, sequence: 1, issuedAt: Date().addingTimeInterval(-60))
        #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
        // The device's clock is 4 minutes ahead: within the allowed skew, so the revocation is accepted...
        let revoke = try record(setup, .samples, .revoke, sequence: 2, issuedAt: Date().addingTimeInterval(240))
        #expect(await consent(setup, revoke) == .ack(Ack(requestID: 7)))
        // ...and the grant it revokes is not left in force until then.
        #expect(errorCode(await send(setup, .sampleBatch(try batch(key: "late", rows: 2)))) == .conflict)
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 0)
    }

    @Test func driftConsentIsCheckedWhenTheReportArrivesNotAtTheWindowTheDeviceNames() async throws {
        let setup = try await setUp()
        let (report, _) = try await driftedReport(setup)
        let grant = try record(setup, .driftStats, .grant, sequence: 1, issuedAt: Date().addingTimeInterval(-3600))
        #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
        let revoke = try record(setup, .driftStats, .revoke, sequence: 2)
        #expect(await consent(setup, revoke) == .ack(Ack(requestID: 7)))
        // The report's window ends just before the revocation, when the grant was in force; it arrives after.
        #expect(errorCode(await send(setup, .driftReport(report))) == .conflict)
        #expect(try await setup.store.driftReportTotals(model: "m", version: 1).reports == 0)
    }

    @Test func theVerifiedLedgerIsKeptUntilANewRecordIsStored() async throws {
        let setup = try await setUp()
        let grant = try record(setup, .samples, .grant, sequence: 1, issuedAt: Date().addingTimeInterval(-60))
        #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
        let device = try #require(try await setup.store.device(id: setup.deviceID))
        let records = try await setup.store.consentRecords(deviceID: setup.deviceID)
        let kept = try setup.service.ledgers.ledger(of: device, records: records)
        #expect(kept.history.count == 1)
        // A record the kept ledger does not cover (a forged one here) is verified, not taken on trust.
        let bytes = try record(setup, .samples, .revoke, sequence: 2, signer: .generate())
        let forged =
            records + [StoredConsentRecord(try SignedConsentRecord(decoding: bytes), bytes: bytes, receivedAt: Date())]
        #expect(throws: ConsentError.self) { try setup.service.ledgers.ledger(of: device, records: forged) }
    }
}

@Suite struct DeviceRequestQueueTests {
    actor Log {
        var entries: [String] = []
        func append(_ entry: String) { entries.append(entry) }
    }

    @Test func aDevicesRequestsRunOneAtATimeInTheOrderTheyArrived() async throws {
        let queues = DeviceRequestQueues()
        let log = Log()
        var tasks: [Task<Int, Never>] = []
        for index in 0..<100 {
            let yields = (index * 7) % 5
            for device in ["a", "b"] {
                tasks.append(
                    queues.enqueue(device) {
                        await log.append("\(device) start \(index)")
                        for _ in 0..<yields { await Task.yield() }
                        await log.append("\(device) end \(index)")
                        return index
                    }
                )
            }
        }
        for task in tasks { _ = await task.value }
        let entries = await log.entries
        for device in ["a", "b"] {
            let mine = entries.filter { $0.hasPrefix(device + " ") }
            let expected = (0..<100).flatMap { ["\(device) start \($0)", "\(device) end \($0)"] }
            #expect(mine == expected, "device \(device)'s requests ran in order, one at a time")
        }
        #expect(queues.busyDevices == 0)
    }
}
