import FleetDelta
import FleetLearning
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The coordinator's side of observability with privacy: it keeps each device's consent history (verified with
/// the device's enrolled key), stores samples and drift summaries only when its own copy of the consent covers
/// them, erases a device's samples when it learns of a `samples` revocation, evaluates drift and raises
/// `drift_alert` / `drift_cleared` events, and distributes reference statistics.
///
/// Refusals are errors in the 300 range (the connection stays open): `bad-request` for what can never be
/// accepted (malformed, forged, expired), `conflict` for what the current consent does not allow or a record
/// out of order, `not-found` for an unknown model version.
struct ObservabilityService: DeviceMessageHandler, AdminMessageHandler {
    struct Limits: Sendable {
        var maximumBatchRows = 1_000
        var maximumBatchInflated = 8 << 20
        var maximumStoredRowsPerDevice = 50_000
        var maximumKeyLength = 128
    }

    let store: CoordinatorStore
    let connections: ConnectionRegistry
    let logger: Logger
    /// Each device's verified consent, kept between requests.
    let ledgers = ConsentLedgers()
    /// Where each region's latest drift is recorded (`tinyfleet_drift_psi`); nil: not recorded.
    var metrics: CoordinatorMetrics? = nil
    var limits = Limits()
    var now: @Sendable () -> Date = { Date() }

    init(store: CoordinatorStore, connections: ConnectionRegistry, logger: Logger) {
        self.store = store
        self.connections = connections
        self.logger = logger
    }

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        do {
            switch message {
            case .consentUpdate(let update):
                return try await consent(update, deviceID: deviceID)
            case .sampleBatch(let batch):
                return try await samples(batch, deviceID: deviceID)
            case .driftReport(let report):
                return try await drift(report, deviceID: deviceID)
            default:
                return nil
            }
        } catch let refusal as ObservabilityRefusal {
            logger.notice(
                "observability request refused",
                metadata: ["device": "\(deviceID)", "type": "\(message.type)", "reason": "\(refusal.message)"]
            )
            return .error(
                ErrorMessage(requestID: message.requestIDForRefusal, code: refusal.code, message: refusal.message)
            )
        } catch {
            logger.error("observability request failed", metadata: ["device": "\(deviceID)", "error": "\(error)"])
            return .error(
                ErrorMessage(requestID: message.requestIDForRefusal, code: .unavailable, message: "not stored; retry")
            )
        }
    }

    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message? {
        guard case .referenceStatistics(let request) = message else { return nil }
        do {
            try await publishReference(request)
            return .ack(Ack(requestID: request.requestID))
        } catch let refusal as ObservabilityRefusal {
            return .error(ErrorMessage(requestID: request.requestID, code: refusal.code, message: refusal.message))
        } catch {
            logger.error("storing reference statistics failed", metadata: ["error": "\(error)"])
            return .error(ErrorMessage(requestID: request.requestID, code: .internalError, message: "\(error)"))
        }
    }

    // MARK: Consent

    private func consent(_ update: ConsentUpdate, deviceID: String) async throws -> Message {
        let signed: SignedConsentRecord
        do {
            signed = try SignedConsentRecord(decoding: update.record)
        } catch {
            throw ObservabilityRefusal(.badRequest, "consent record: \(error)")
        }
        guard let current = try await CoordinatorConsent.load(deviceID: deviceID, store: store, ledgers: ledgers) else {
            throw ObservabilityRefusal(.notFound, "device \(deviceID) is not enrolled")
        }
        // A record already applied (sent again after a reconnect) is acknowledged, not applied twice.
        if let stored = current.stored.first(where: { $0.sequence == signed.record.sequence }) {
            guard stored.record == update.record else {
                throw ObservabilityRefusal(.conflict, "another record has sequence \(signed.record.sequence)")
            }
            return .ack(Ack(requestID: update.requestID))
        }
        var ledger = current.ledger
        let receivedAt = now()
        do {
            try ledger.apply(signed, publicKey: current.device.publicKey, now: receivedAt)
        } catch let error where error == .outOfOrder() {
            throw ObservabilityRefusal(.conflict, "consent record refused: \(error.message)")
        } catch {
            throw ObservabilityRefusal(.badRequest, "consent record refused: \(error.message)")
        }
        let record = signed.record
        let revokesSamples = record.purpose == .samples && record.action == .revoke
        let detail =
            "\(record.action.rawValue) \(record.purpose.rawValue)"
            + (record.until.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? "")
            + " (#\(record.sequence))"
        // Appended only if no other record was stored since `current` was read (else: retried by the device).
        let erased = try await store.appendConsentRecord(
            StoredConsentRecord(signed, bytes: update.record, receivedAt: receivedAt),
            after: current.stored.last?.sequence,
            eraseSamples: revokesSamples
        ) { erased in
            var events = [
                NewEvent(
                    at: receivedAt,
                    deviceID: deviceID,
                    kind: record.action == .grant ? "consent_granted" : "consent_revoked",
                    detail: detail
                )
            ]
            if revokesSamples {
                events.append(
                    NewEvent(
                        at: receivedAt,
                        deviceID: deviceID,
                        kind: "samples_erased",
                        detail: "\(erased) sample(s) erased after the samples consent was revoked"
                    )
                )
            }
            return events
        }
        ledgers.keep(ledger)
        logger.info(
            "consent recorded",
            metadata: ["device": "\(deviceID)", "change": "\(detail)", "samples-erased": "\(erased)"]
        )
        return .ack(Ack(requestID: update.requestID))
    }

    // MARK: Samples

    private func samples(_ batch: SampleBatch, deviceID: String) async throws -> Message {
        guard (1...limits.maximumKeyLength).contains(batch.idempotencyKey.utf8.count),
            ModelNames.isValid(batch.model), (1...limits.maximumBatchRows).contains(batch.count)
        else {
            throw ObservabilityRefusal(
                .badRequest,
                "sample batch: key, model or row count (1...\(limits.maximumBatchRows)) invalid"
            )
        }
        if try await store.hasSampleBatch(deviceID: deviceID, idempotencyKey: batch.idempotencyKey) {
            return .ack(Ack(requestID: batch.requestID))
        }
        guard let current = try await CoordinatorConsent.load(deviceID: deviceID, store: store, ledgers: ledgers) else {
            throw ObservabilityRefusal(.notFound, "device \(deviceID) is not enrolled")
        }
        let arrival = now()
        // Checked here so that a batch without consent is not even inflated, and again inside the inserting
        // transaction, against the records as they are there: a revocation that commits in between wins.
        guard current.grantInForce(.samples, at: arrival) != nil else { throw Self.noSamplesConsent(deviceID) }
        let csv: [UInt8]
        do {
            csv = try Zlib.decompress(batch.compressedCSV, maximumSize: limits.maximumBatchInflated)
        } catch {
            throw ObservabilityRefusal(
                .badRequest,
                "sample batch does not inflate within \(limits.maximumBatchInflated) bytes"
            )
        }
        guard let rows = SampleCSV.rowCount(csv), rows == batch.count else {
            throw ObservabilityRefusal(.badRequest, "sample batch is not CSV with a header and \(batch.count) row(s)")
        }
        let ledgers = self.ledgers
        let device = current.device
        let admission = try await store.insertSampleBatch(
            SampleBatchRecord(
                deviceID: deviceID,
                idempotencyKey: batch.idempotencyKey,
                model: batch.model,
                rowCount: rows,
                compressedCSV: batch.compressedCSV,
                consentSequence: 0,
                receivedAt: arrival
            ),
            maximumRowsPerDevice: limits.maximumStoredRowsPerDevice
        ) { records in
            (try? ledgers.ledger(of: device, records: records))?.grantInForce(.samples, at: arrival)
        }
        switch admission {
        case .stored, .alreadyStored:
            return .ack(Ack(requestID: batch.requestID))
        case .noConsent:
            throw Self.noSamplesConsent(deviceID)
        case .overCap(let held):
            throw ObservabilityRefusal(
                .conflict,
                "the coordinator holds \(held) samples of \(deviceID), the cap is \(limits.maximumStoredRowsPerDevice)"
            )
        }
    }

    private static func noSamplesConsent(_ deviceID: String) -> ObservabilityRefusal {
        ObservabilityRefusal(
            .conflict,
            "no samples consent from \(deviceID) on record: samples refused, nothing stored"
        )
    }

    // MARK: Drift

    private func drift(_ message: DriftReportMessage, deviceID: String) async throws -> Message {
        // An empty summary asks for the model version's reference statistics (`Protocol/OBSERVABILITY.md`).
        if message.summary.isEmpty {
            guard let statistics = try await store.referenceStatistics(model: message.model, version: message.version)
            else {
                throw ObservabilityRefusal(
                    .notFound,
                    "no reference statistics for \(message.model) v\(message.version)"
                )
            }
            return .referenceStatistics(
                ReferenceStatisticsMessage(
                    requestID: message.requestID,
                    model: message.model,
                    version: message.version,
                    statistics: statistics
                )
            )
        }
        let summary: DriftSummary
        do {
            summary = try DriftSummary(decoding: message.summary)
        } catch {
            throw ObservabilityRefusal(.badRequest, "drift summary: \(error.detail)")
        }
        guard let current = try await CoordinatorConsent.load(deviceID: deviceID, store: store, ledgers: ledgers) else {
            throw ObservabilityRefusal(.notFound, "device \(deviceID) is not enrolled")
        }
        // Checked when the report arrives, not at a time the device chose (its window's end).
        let arrival = now()
        guard current.ledger.isGranted(.driftStats, at: arrival) else {
            throw ObservabilityRefusal(.conflict, "no drift-stats consent from \(deviceID) on record: not stored")
        }
        guard let bytes = try await store.referenceStatistics(model: message.model, version: message.version),
            let package = try? ReferencePackage(decoding: bytes)
        else {
            throw ObservabilityRefusal(.notFound, "no reference statistics for \(message.model) v\(message.version)")
        }
        do {
            _ = try DriftEvaluator(thresholds: package.thresholds).evaluate(summary, against: package.statistics)
        } catch {
            throw ObservabilityRefusal(.badRequest, "drift summary does not match the reference: \(error.detail)")
        }
        let stored = try await store.insertDriftReport(
            DriftReportRecord(
                deviceID: deviceID,
                model: message.model,
                version: message.version,
                windowStart: summary.windowStart,
                windowEnd: summary.windowEnd,
                sampleCount: Int(summary.sampleCount),
                summary: message.summary,
                wireBytes: Message.driftReport(message).encodedFrame().readableBytes,
                receivedAt: arrival
            )
        )
        if stored {
            try await raiseAlerts(model: message.model, version: message.version, device: current.device)
        }
        return .ack(Ack(requestID: message.requestID))
    }

    /// Re-evaluates the reporting device, its region and the fleet, and logs a change of verdict as an event.
    private func raiseAlerts(model: String, version: Int, device: DeviceRecord) async throws {
        let region = DriftAssessor.region(of: device)
        let assessor = DriftAssessor(store: store)
        guard let assessment = try await assessor.assess(model: model, version: version) else { return }
        let at = now()
        for regional in assessment.regions { metrics?.drift(model: model, region: regional.scope, psi: regional.psi) }
        var scopes: [(String, String?, ScopeDrift)] = []
        if let mine = assessment.devices.first(where: { $0.scope == device.id }) {
            scopes.append(("device:\(device.id)", device.id, mine))
        }
        if let mine = assessment.regions.first(where: { $0.scope == region }) {
            scopes.append(("region:\(region)", nil, mine))
        }
        if let fleet = assessment.fleet { scopes.append(("fleet", nil, fleet)) }
        for (scope, deviceID, drift) in scopes {
            let worst =
                drift.report.worstFeature.map {
                    "\(assessment.package.featureName($0.index)) PSI \(Self.format($0.psi))"
                }
                ?? "-"
            let changed = try await store.updateDriftAlert(
                scope: scope,
                model: model,
                version: version,
                drifted: drift.report.drifted,
                at: at
            ) { drifted in
                NewEvent(
                    at: at,
                    deviceID: deviceID,
                    kind: drifted ? "drift_alert" : "drift_cleared",
                    detail:
                        "\(model) v\(version) \(scope): median feature PSI \(Self.format(drift.psi)), JS \(Self.format(drift.jensenShannon)), worst \(worst), \(drift.report.sampleCount) observations"
                )
            }
            if changed {
                logger.notice(
                    drift.report.drifted ? "drift alert" : "drift cleared",
                    metadata: ["model": "\(model) v\(version)", "scope": "\(scope)"]
                )
            }
        }
    }

    static func format(_ value: Double) -> String { String(format: "%.3f", value) }

    // MARK: Reference statistics

    private func publishReference(_ request: ReferenceStatisticsMessage) async throws {
        do {
            _ = try ReferencePackage(decoding: request.statistics)
        } catch {
            throw ObservabilityRefusal(.badRequest, "reference statistics: \(error.detail)")
        }
        let variants = try await store.modelVariants(model: request.model)
        guard variants.contains(where: { $0.version == request.version }) else {
            throw ObservabilityRefusal(.notFound, "no model \(request.model) v\(request.version): push the model first")
        }
        try await store.setReferenceStatistics(
            model: request.model,
            version: request.version,
            statistics: request.statistics,
            at: now()
        )
        let online = Set(connections.connectedDeviceIDs)
        var pushed = 0
        for device in try await store.devices() where online.contains(device.id) {
            guard device.installedModels.contains(where: { $0.name == request.model && $0.version == request.version })
            else { continue }
            connections.send(
                .referenceStatistics(
                    ReferenceStatisticsMessage(
                        requestID: 0,
                        model: request.model,
                        version: request.version,
                        statistics: request.statistics
                    )
                ),
                to: device.id
            )
            pushed += 1
        }
        logger.info(
            "reference statistics stored",
            metadata: ["model": "\(request.model) v\(request.version)", "pushed-to": "\(pushed)"]
        )
    }
}

/// Why the coordinator refused an observability request; becomes an `error` with this code.
struct ObservabilityRefusal: Error {
    let code: ErrorCode
    let message: String
    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The sample CSV the agents upload: a header line, then rows with as many fields as the header.
enum SampleCSV {
    /// The number of data rows, or nil when the text is not such CSV (not UTF-8, no header, ragged rows).
    static func rowCount(_ bytes: [UInt8]) -> Int? {
        guard let text = String(validating: bytes, as: UTF8.self), let (header, rows) = CSVLines(text).headerAndRows
        else { return nil }
        var count = 0
        for row in rows {
            guard row.fields.count == header.count else { return nil }
            count += 1
        }
        return count
    }
}

extension Message {
    /// The request id an error about this message carries.
    fileprivate var requestIDForRefusal: UInt64 {
        switch self {
        case .consentUpdate(let update): update.requestID
        case .sampleBatch(let batch): batch.requestID
        case .driftReport(let report): report.requestID
        case .referenceStatistics(let statistics): statistics.requestID
        default: 0
        }
    }
}
