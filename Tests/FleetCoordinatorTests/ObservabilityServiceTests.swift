import FleetDelta
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// The coordinator checks consent itself: records are verified with the device's enrolled key, samples and drift
/// summaries are stored only under its own copy of the consent, and a `samples` revocation erases what it holds.
@Suite struct ObservabilityServiceTests {
    struct Setup {
        let store: CoordinatorStore
        let service: ObservabilityService
        let identity: DeviceIdentity
        let deviceID: String
    }

    func setUp(store given: CoordinatorStore? = nil) async throws -> Setup {
        let store = try given ?? CoordinatorStore.inMemory()
        let logger = Logger.quietTest
        let models = ModelRegistry(
            store: store,
            blobDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("fleet-obs-\(UUID())").path,
            releaseKey: .generate(),
            connections: ConnectionRegistry(),
            logger: logger
        )
        let enrolled = try await TestEnrolment.enrol(
            store: store,
            models: models,
            logger: logger,
            name: "cam",
            labels: ["region": "eu"]
        )
        let service = ObservabilityService(store: store, connections: ConnectionRegistry(), logger: logger)
        return Setup(store: store, service: service, identity: enrolled.identity, deviceID: enrolled.deviceID)
    }

    func record(
        _ setup: Setup,
        _ purpose: ConsentPurpose,
        _ action: ConsentRecord.Action,
        sequence: UInt64,
        issuedAt: Date = Date(),
        until: Date? = nil,
        signer: DeviceIdentity? = nil
    ) throws -> [UInt8] {
        let record = ConsentRecord(
            deviceID: setup.deviceID,
            purpose: purpose,
            action: action,
            until: until,
            issuedAt: issuedAt,
            sequence: sequence
        )
        return try SignedConsentRecord.sign(record, with: signer ?? setup.identity).encoded()
    }

    func send(_ setup: Setup, _ message: Message) async -> Message? {
        await setup.service.handle(message, from: setup.deviceID)
    }

    func consent(_ setup: Setup, _ bytes: [UInt8], id: UInt64 = 7) async -> Message? {
        await send(setup, .consentUpdate(ConsentUpdate(requestID: id, record: bytes)))
    }

    func errorCode(_ reply: Message?) -> ErrorCode? {
        if case .error(let error) = reply { return error.code }
        return nil
    }

    func batch(key: String, rows: Int) throws -> SampleBatch {
        let csv = (["f0,f1,prediction,label"] + (0..<rows).map { "0.\($0),1.0,3,3" }).joined(separator: "\n") + "\n"
        return SampleBatch(
            requestID: 9,
            idempotencyKey: key,
            model: "digits-mlp",
            count: rows,
            compressedCSV: try Zlib.compress(Array(csv.utf8))
        )
    }

    @Test func consentRecordsAreVerified() async throws {
        let setup = try await setUp()
        // A valid grant is stored.
        let grant = try record(setup, .samples, .grant, sequence: 1, issuedAt: Date().addingTimeInterval(-3600))
        #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
        // The same record again (a resend after a reconnect) is acknowledged, not stored twice.
        #expect(await consent(setup, grant) == .ack(Ack(requestID: 7)))
        // Forged: signed by another key.
        let forged = try record(setup, .driftStats, .grant, sequence: 2, signer: .generate())
        #expect(errorCode(await consent(setup, forged)) == .badRequest)
        // Expired: a grant whose end has passed.
        let expired = try record(
            setup,
            .driftStats,
            .grant,
            sequence: 2,
            issuedAt: Date().addingTimeInterval(-1800),
            until: Date().addingTimeInterval(-900)
        )
        #expect(errorCode(await consent(setup, expired)) == .badRequest)
        // Out of order: a lower sequence, and another record with an existing sequence.
        let stale = try record(setup, .driftStats, .revoke, sequence: 0)
        #expect(errorCode(await consent(setup, stale)) == .conflict)
        let clash = try record(setup, .driftStats, .grant, sequence: 1)
        #expect(errorCode(await consent(setup, clash)) == .conflict)
        // From the future (beyond the 5-minute skew).
        let future = try record(setup, .driftStats, .grant, sequence: 3, issuedAt: Date().addingTimeInterval(3600))
        #expect(errorCode(await consent(setup, future)) == .badRequest)
        // Garbage bytes.
        #expect(errorCode(await consent(setup, [1, 2, 3])) == .badRequest)
        // Only the valid grant is on record.
        let stored = try await setup.store.consentRecords(deviceID: setup.deviceID)
        #expect(stored.map(\.sequence) == [1])
        #expect(stored.first?.record == grant)
    }

    @Test func samplesWithoutCoordinatorConsentAreRefusedAndNotStored() async throws {
        let setup = try await setUp()
        let reply = await send(setup, .sampleBatch(try batch(key: "k1", rows: 5)))
        #expect(errorCode(reply) == .conflict)
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 0)
        // Granted, then revoked: refused again.
        #expect(await consent(setup, try record(setup, .samples, .grant, sequence: 1)) == .ack(Ack(requestID: 7)))
        #expect(await send(setup, .sampleBatch(try batch(key: "k1", rows: 5))) == .ack(Ack(requestID: 9)))
        // The same key again (a reconnect) stores nothing more.
        #expect(await send(setup, .sampleBatch(try batch(key: "k1", rows: 5))) == .ack(Ack(requestID: 9)))
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 5)
        // A batch whose rows do not match its count is refused.
        var lying = try batch(key: "k2", rows: 5)
        lying.count = 6
        #expect(errorCode(await send(setup, .sampleBatch(lying))) == .badRequest)
        // Expired grant: refused.
        #expect(await consent(setup, try record(setup, .samples, .revoke, sequence: 2)) == .ack(Ack(requestID: 7)))
        #expect(errorCode(await send(setup, .sampleBatch(try batch(key: "k3", rows: 2)))) == .conflict)
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 0)
    }

    @Test func revocationErasesStoredSamples() async throws {
        let setup = try await setUp()
        let until = Date().addingTimeInterval(86_400)
        #expect(
            await consent(setup, try record(setup, .samples, .grant, sequence: 1, until: until))
                == .ack(Ack(requestID: 7))
        )
        for key in ["a", "b", "c"] {
            #expect(await send(setup, .sampleBatch(try batch(key: key, rows: 4))) == .ack(Ack(requestID: 9)))
        }
        let holdings = try await setup.store.sampleHoldings()
        #expect(holdings.first?.rows == 12 && holdings.first?.consentSequences == [1])
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 12)
        #expect(await consent(setup, try record(setup, .samples, .revoke, sequence: 2)) == .ack(Ack(requestID: 7)))
        #expect(try await setup.store.sampleRowCount(deviceID: setup.deviceID) == 0)
        let events = try await setup.store.events(deviceID: setup.deviceID, limit: 10, afterSequence: nil)
        #expect(events.contains { $0.kind == "samples_erased" && $0.detail.hasPrefix("12 sample(s)") })
        // The history is kept in full.
        #expect(try await setup.store.consentRecords(deviceID: setup.deviceID).map(\.action) == ["grant", "revoke"])
    }

    /// Stores reference statistics for model `m` v1 and returns a drifted report on them (window ending now).
    func driftedReport(_ setup: Setup) async throws -> (report: DriftReportMessage, reference: [UInt8]) {
        let rows: [[Float]] = (0..<200).map { index in (0..<4).map { Float((index * 7 + $0 * 3) % 17) / 16 } }
        let statistics = try ReferenceStatistics.compute(
            features: rows,
            predictions: rows.map { $0[0] > 0.5 ? 1 : 0 },
            confidences: rows.map { _ in 0.9 },
            classCount: 2
        )
        let package = try ReferencePackage(statistics: statistics).encoded()
        try await setup.store.setReferenceStatistics(model: "m", version: 1, statistics: package, at: Date())
        var accumulator = DriftAccumulator(reference: statistics, windowStart: Date().addingTimeInterval(-10))
        for row in rows.prefix(100) {
            try accumulator.observe(features: row.map { $0 + 2 }, predictedClass: 1, confidence: 0.5)
        }
        let summary = accumulator.drain(windowEnd: Date()).encoded()
        return (DriftReportMessage(requestID: 4, model: "m", version: 1, summary: summary), package)
    }

    @Test func driftReportsNeedDriftConsentAndAReference() async throws {
        let setup = try await setUp()
        let (report, package) = try await driftedReport(setup)
        // An empty summary asks for the reference.
        let asked = await send(
            setup,
            .driftReport(DriftReportMessage(requestID: 3, model: "m", version: 1, summary: []))
        )
        #expect(
            asked
                == .referenceStatistics(
                    ReferenceStatisticsMessage(requestID: 3, model: "m", version: 1, statistics: package)
                )
        )
        #expect(errorCode(await send(setup, .driftReport(report))) == .conflict)
        #expect(
            await consent(
                setup,
                try record(setup, .driftStats, .grant, sequence: 1, issuedAt: Date().addingTimeInterval(-60))
            ) == .ack(Ack(requestID: 7))
        )
        #expect(await send(setup, .driftReport(report)) == .ack(Ack(requestID: 4)))
        #expect(try await setup.store.driftReportTotals(model: "m", version: 1).reports == 1)
        let assessment = try #require(try await DriftAssessor(store: setup.store).assess(model: "m"))
        #expect(assessment.devices.count == 1 && assessment.devices.first?.report.drifted == true)
        let events = try await setup.store.events(deviceID: setup.deviceID, limit: 20, afterSequence: nil)
        #expect(events.contains { $0.kind == "drift_alert" })
    }
}
