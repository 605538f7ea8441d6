import Foundation
import Testing

@testable import FleetStore

/// Consent records, consented samples and drift reports and alerts, on every backend.
@Suite struct ObservabilityStoreTests {
    static func consent(_ sequence: UInt64, _ action: String, device: String = "dev-1") -> StoredConsentRecord {
        StoredConsentRecord(
            deviceID: device,
            sequence: sequence,
            purpose: "samples",
            action: action,
            until: action == "grant" ? Dates.at(1_000) : nil,
            issuedAt: Dates.at(Double(sequence)),
            record: [UInt8(sequence), 7],
            receivedAt: Dates.at(Double(sequence) + 0.5)
        )
    }

    static func batch(_ key: String, rows: Int, model: String = "m", at: Double = 3) -> SampleBatchRecord {
        SampleBatchRecord(
            deviceID: "dev-1",
            idempotencyKey: key,
            model: model,
            rowCount: rows,
            compressedCSV: [9, UInt8(rows)],
            consentSequence: 0,
            receivedAt: Dates.at(at)
        )
    }

    /// The grant in force: the last record, if it grants.
    static let lastGrant: @Sendable ([StoredConsentRecord]) -> UInt64? = { records in
        records.last.flatMap { $0.action == "grant" ? $0.sequence : nil }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func consentRecordsChainAndARevocationErasesTheSamples(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(
                try await store.insertSampleBatch(
                    Self.batch("a", rows: 5),
                    maximumRowsPerDevice: 10,
                    grantInForce: Self.lastGrant
                ) == .noConsent
            )
            try await store.appendConsentRecord(Self.consent(1, "grant"), after: nil, eraseSamples: false)
            await #expect(throws: StoreError.duplicate) {
                try await store.appendConsentRecord(Self.consent(1, "grant"), after: nil, eraseSamples: false)
            }
            await #expect(throws: StoreError.duplicate, "checked against a stale last record") {
                try await store.appendConsentRecord(Self.consent(2, "revoke"), after: nil, eraseSamples: true)
            }
            #expect(
                try await store.insertSampleBatch(
                    Self.batch("a", rows: 5),
                    maximumRowsPerDevice: 10,
                    grantInForce: Self.lastGrant
                ) == .stored(consentSequence: 1)
            )
            #expect(
                try await store.insertSampleBatch(
                    Self.batch("a", rows: 5),
                    maximumRowsPerDevice: 10,
                    grantInForce: Self.lastGrant
                ) == .alreadyStored
            )
            #expect(
                try await store.insertSampleBatch(
                    Self.batch("b", rows: 6),
                    maximumRowsPerDevice: 10,
                    grantInForce: Self.lastGrant
                ) == .overCap(held: 5)
            )
            #expect(
                try await store.insertSampleBatch(
                    Self.batch("c", rows: 4, model: "n", at: 4),
                    maximumRowsPerDevice: 10,
                    grantInForce: Self.lastGrant
                ) == .stored(consentSequence: 1)
            )
            #expect(try await store.hasSampleBatch(deviceID: "dev-1", idempotencyKey: "c"))
            #expect(try await store.sampleRowCount(deviceID: "dev-1") == 9)
            #expect(try await store.sampleBatches(model: "m").map(\.idempotencyKey) == ["a"])
            #expect(try await store.sampleBatches(model: "m").first?.compressedCSV == [9, 5])
            let holdings = try await store.sampleHoldings()
            #expect(holdings.map(\.model) == ["m", "n"])
            #expect(holdings.map(\.rows) == [5, 4] && holdings.map(\.batches) == [1, 1])
            #expect(holdings.map(\.consentSequences) == [[1], [1]])
            #expect(holdings.last?.lastReceivedAt == Dates.at(4))

            let erased = try await store.appendConsentRecord(Self.consent(2, "revoke"), after: 1, eraseSamples: true) {
                erased in
                [NewEvent(at: Dates.at(5), deviceID: "dev-1", kind: "consent_revoked", detail: "\(erased) erased")]
            }
            #expect(erased == 9)
            #expect(try await store.sampleRowCount(deviceID: "dev-1") == 0)
            #expect(try await store.sampleHoldings().isEmpty)
            #expect(
                try await store.consentRecords(deviceID: "dev-1") == [
                    Self.consent(1, "grant"), Self.consent(2, "revoke"),
                ]
            )
            try await store.appendConsentRecord(
                Self.consent(1, "grant", device: "dev-0"),
                after: nil,
                eraseSamples: false
            )
            #expect(try await store.allConsentRecords().map(\.deviceID) == ["dev-0", "dev-1", "dev-1"])
            #expect(try await store.events(after: 0, limit: 10).map(\.detail) == ["9 erased"])
        }
    }

    static func report(
        _ device: String,
        version: Int = 1,
        window: Double,
        samples: Int,
        received: Double? = nil
    )
        -> DriftReportRecord
    {
        DriftReportRecord(
            deviceID: device,
            model: "m",
            version: version,
            windowStart: Dates.at(window - 1),
            windowEnd: Dates.at(window),
            sampleCount: samples,
            summary: [UInt8(window), UInt8(samples)],
            wireBytes: 100 + samples,
            receivedAt: Dates.at(received ?? window + 0.5)
        )
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func driftReportsAreStoredOnceAndReadBackByRecencyAndDevice(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            for window in 1...40 {
                #expect(try await store.insertDriftReport(Self.report("dev-1", window: Double(window), samples: 2)))
            }
            #expect(!(try await store.insertDriftReport(Self.report("dev-1", window: 40, samples: 2))), "a resend")
            #expect(try await store.insertDriftReport(Self.report("dev-2", window: 5, samples: 30)))
            #expect(try await store.insertDriftReport(Self.report("dev-2", version: 2, window: 5, samples: 30)))
            #expect(try await store.driftReportDevices(model: "m", version: 1).sorted() == ["dev-1", "dev-2"])
            // 2 samples a report: 35 samples need the newest 18 reports, across two pages of 16.
            let recent = try await store.recentDriftReports(
                deviceID: "dev-1",
                model: "m",
                version: 1,
                minimumSamples: 35
            )
            #expect(recent.map(\.windowEnd) == (23...40).reversed().map { Dates.at(Double($0)) })
            #expect(recent.first == Self.report("dev-1", window: 40, samples: 2))
            let capped = try await store.recentDriftReports(
                deviceID: "dev-1",
                model: "m",
                version: 1,
                minimumSamples: 1_000,
                limit: 20
            )
            #expect(capped.count == 20)
            let all = try await store.recentDriftReports(
                deviceID: "dev-1",
                model: "m",
                version: 1,
                minimumSamples: 1_000
            )
            #expect(all.count == 40)
            let byDevice = try await store.driftReports(
                model: "m",
                version: 1,
                deviceIDs: ["dev-1", "dev-2", "dev-3"],
                receivedSince: Dates.at(38)
            )
            #expect(byDevice["dev-1"]?.map(\.windowEnd) == [Dates.at(38), Dates.at(39), Dates.at(40)])
            #expect(byDevice["dev-2"] == nil && byDevice["dev-3"] == nil)
            let totals = try await store.driftReportTotals(model: "m", version: 1)
            #expect(totals.reports == 41 && totals.samples == 40 * 2 + 30 && totals.bytes == 40 * 102 + 130)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func anAlertIsAnnouncedOnlyWhenItsStateChanges(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let steps: [(scope: String, version: Int, drifted: Bool, announced: Bool)] = [
                ("fleet", 1, false, false),  // never drifted: nothing to announce
                ("fleet", 1, true, true),
                ("fleet", 2, true, false),  // no change
                ("fleet", 2, false, true),
                ("region:eu", 2, true, true),
            ]
            var announced: [Bool] = []
            for (index, step) in steps.enumerated() {
                announced.append(
                    try await store.updateDriftAlert(
                        scope: step.scope,
                        model: "m",
                        version: step.version,
                        drifted: step.drifted,
                        at: Dates.at(Double(index))
                    ) { drifted in
                        NewEvent(
                            at: Dates.at(Double(index)),
                            deviceID: nil,
                            kind: drifted ? "drift_alert" : "drift_cleared",
                            detail: step.scope
                        )
                    }
                )
            }
            #expect(announced == steps.map(\.announced))
            let events = try await store.events(after: 0, limit: 10)
            #expect(events.map(\.kind) == ["drift_alert", "drift_cleared", "drift_alert"])
            #expect(events.map(\.detail) == ["fleet", "fleet", "region:eu"])
        }
    }
}
