import FleetDelta
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The agent's observability in the session: syncs the owner's consent records (in sequence, each until the
/// coordinator acknowledges it), then uploads queued samples in compressed batches with idempotency keys and
/// the closed drift windows; asks for and keeps the reference statistics of installed model versions.
///
/// Samples and reports wait until every consent record is acknowledged, because the coordinator serves requests
/// concurrently and must already hold the consent that covers them. One request of each kind is in flight at a
/// time; after a reconnect everything unacknowledged is sent again (the coordinator deduplicates: consent by
/// sequence, samples by key, reports by window).
public actor ObservabilityFeature: AgentFeature {
    /// Rows per sample batch.
    public static let batchRows = 200

    private enum InFlight {
        case consent(sequence: UInt64)
        case samples(key: String)
        case report(id: Int64)
        case reference(model: String, version: Int)
    }

    private let store: AgentStore
    private let consent: AgentConsentBook
    private let dataDirectory: String
    private let logger: Logger
    private var inFlight: [UInt64: InFlight] = [:]
    /// Model versions asked for reference statistics on this connection.
    private var asked: Set<String> = []

    public init(store: AgentStore, identity: DeviceIdentity, dataDirectory: String, logger: Logger) {
        self.store = store
        self.consent = AgentConsentBook(store: store, identity: identity)
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    public func connected(_ link: AgentLink) async throws {
        inFlight = [:]
        asked = []
        try await pump(link)
    }

    public func tick(_ link: AgentLink) async throws {
        try await pump(link)
    }

    public func disconnected() async {
        inFlight = [:]
    }

    public func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .referenceStatistics(let pushed):
            if pushed.requestID != 0 { inFlight[pushed.requestID] = nil }
            do {
                _ = try ReferencePackage(decoding: pushed.statistics)
                try await store.setReferenceStatistics(
                    model: pushed.model,
                    version: pushed.version,
                    statistics: pushed.statistics
                )
                logger.info("reference statistics received", metadata: ["model": "\(pushed.model) v\(pushed.version)"])
            } catch {
                logger.warning("reference statistics refused", metadata: ["error": "\(error)"])
            }
            return true
        case .ack(let ack):
            guard let request = inFlight.removeValue(forKey: ack.requestID) else { return false }
            try await acknowledged(request)
            try await pump(link)
            return true
        case .error(let error):
            guard error.requestID != 0, let request = inFlight.removeValue(forKey: error.requestID) else {
                return false
            }
            try await refused(request, error)
            return true
        default:
            return false
        }
    }

    private func acknowledged(_ request: InFlight) async throws {
        switch request {
        case .consent(let sequence):
            try await store.markConsentSynced(sequence: sequence, at: Date())
        case .samples(let key):
            let rows = try await store.removeSampleBatch(key: key)
            logger.info("samples uploaded", metadata: ["rows": "\(rows)", "key": "\(key)"])
        case .report(let id):
            try await store.removePendingDriftReport(id: id)
        case .reference:
            break
        }
    }

    private func refused(_ request: InFlight, _ error: ErrorMessage) async throws {
        let retryable = error.code == .unavailable || error.code == .internalError
        switch request {
        case .consent(let sequence):
            if retryable { return }
            logger.warning(
                "consent record refused by the coordinator",
                metadata: ["sequence": "\(sequence)", "error": "\(error.message)"]
            )
            try await store.markConsentRefused(sequence: sequence, reason: error.message, at: Date())
        case .samples(let key):
            if retryable { return }
            // The coordinator's copy of the consent does not cover them: they are not kept here either.
            let rows = try await store.removeSampleBatch(key: key)
            logger.warning(
                "samples refused by the coordinator; dropped",
                metadata: ["rows": "\(rows)", "error": "\(error.message)"]
            )
        case .report(let id):
            if retryable { return }
            try await store.removePendingDriftReport(id: id)
            logger.warning("drift report refused", metadata: ["error": "\(error.message)"])
        case .reference:
            break  // no statistics for that version yet; asked again on the next connection or push
        }
    }

    /// Sends what is due: unsynced consent first; samples and reports once consent is in sync.
    private func pump(_ link: AgentLink) async throws {
        let records = try await store.consentRecords()
        let unsynced = records.filter { $0.syncedAt == nil }
        if let next = unsynced.first {
            guard !inFlight.values.contains(where: { if case .consent = $0 { true } else { false } }) else { return }
            let id = link.nextRequestID()
            inFlight[id] = .consent(sequence: next.sequence)
            try await link.send(.consentUpdate(ConsentUpdate(requestID: id, record: next.record)))
            return
        }
        try await askForReferences(link)
        try await sendReports(link)
        try await sendSamples(link, records: records)
    }

    private func askForReferences(_ link: AgentLink) async throws {
        for installed in ModelInstaller(dataDirectory: dataDirectory, hash: { _ in [] }).installed() {
            guard let version = Int(installed.version) else { continue }
            let key = "\(installed.model) \(version)"
            guard !asked.contains(key),
                try await store.referenceStatistics(model: installed.model, version: version) == nil
            else { continue }
            asked.insert(key)
            let id = link.nextRequestID()
            inFlight[id] = .reference(model: installed.model, version: version)
            try await link.send(
                .driftReport(DriftReportMessage(requestID: id, model: installed.model, version: version, summary: []))
            )
        }
    }

    private func sendReports(_ link: AgentLink) async throws {
        guard !inFlight.values.contains(where: { if case .report = $0 { true } else { false } }),
            let report = try await store.pendingDriftReports(limit: 1).first
        else { return }
        let id = link.nextRequestID()
        inFlight[id] = .report(id: report.id)
        try await link.send(
            .driftReport(
                DriftReportMessage(requestID: id, model: report.model, version: report.version, summary: report.summary)
            )
        )
    }

    private func sendSamples(_ link: AgentLink, records: [AgentConsentRow]) async throws {
        guard !inFlight.values.contains(where: { if case .samples = $0 { true } else { false } }) else { return }
        let ledger = try AgentConsentBook.ledger(
            rows: records,
            deviceID: consent.deviceID,
            publicKey: consent.identity.publicKey
        )
        guard ledger.isGranted(.samples, at: Date()) else { return }
        guard
            let batch = try await store.nextSampleBatch(maximumRows: Self.batchRows, keyPrefix: consent.deviceID)
        else { return }
        let csv = ([batch.header] + batch.lines).joined(separator: "\n") + "\n"
        let compressed = try Zlib.compress(Array(csv.utf8), level: 6)
        let id = link.nextRequestID()
        inFlight[id] = .samples(key: batch.key)
        try await link.send(
            .sampleBatch(
                SampleBatch(
                    requestID: id,
                    idempotencyKey: batch.key,
                    model: batch.model,
                    count: batch.lines.count,
                    compressedCSV: compressed
                )
            )
        )
    }
}
