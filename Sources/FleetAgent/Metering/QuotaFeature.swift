import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// Metering in the session (`Protocol/METERING.md`): asks for the grants issued since the last one held, keeps
/// those that verify (release key, this device), takes pushed ones, and syncs the usage ledger: unsynced
/// receipts in order, one report in flight, sent again after a reconnect until acknowledged. A refused report
/// (tampering detected by the coordinator) is not sent again on this connection.
public actor QuotaFeature: AgentFeature {
    private let store: AgentStore
    private let deviceID: String
    private let releaseKey: @Sendable () async throws -> [UInt8]?
    private let logger: Logger
    private var link: AgentLink?
    private var syncRequest: UInt64?
    private var reportInFlight: (id: UInt64, last: UInt64)?
    private var refused = false
    /// When ``tick(_:)`` last read the ledger.
    private var lastLedgerCheck: ContinuousClock.Instant?
    /// Receipts the local socket recorded: sent at once (nil: at connection, acknowledgement and heartbeat only).
    private let usage: UsageSignal?

    public init(
        store: AgentStore,
        deviceID: String,
        releaseKey: @escaping @Sendable () async throws -> [UInt8]?,
        usage: UsageSignal? = nil,
        logger: Logger
    ) {
        self.store = store
        self.deviceID = deviceID
        self.releaseKey = releaseKey
        self.usage = usage
        self.logger = logger
    }

    /// Sends receipts as soon as the local socket records them while connected, so usage reaches the coordinator
    /// within a second; an idle agent does not wake for it.
    public func run() async {
        guard let usage else { return }
        for await _ in usage.notifications {
            guard let link else { continue }
            do {
                try await sendReceipts(link)
            } catch {
                logger.debug("usage sync failed", metadata: ["error": "\(error)"])
            }
        }
    }

    public func connected(_ link: AgentLink) async throws {
        self.link = link
        reportInFlight = nil
        refused = false
        try await askForGrants(link)
        try await sendReceipts(link)
    }

    /// Every message received ticks, transfer chunks too: the ledger is read at most once a second here. Receipts
    /// the socket records go at once (``UsageSignal``); this catches those another process recorded.
    public func tick(_ link: AgentLink) async throws {
        let now = ContinuousClock.now
        if let last = lastLedgerCheck, now - last < .seconds(1) { return }
        lastLedgerCheck = now
        try await sendReceipts(link)
    }

    public func disconnected() async {
        link = nil
        syncRequest = nil
        reportInFlight = nil
    }

    public func handle(_ message: Message, _ link: AgentLink) async throws -> Bool {
        switch message {
        case .quotaGrants(let answer):
            guard answer.requestID == 0 || answer.requestID == syncRequest else { return false }
            if answer.requestID != 0 { syncRequest = nil }
            try await keep(answer.grants)
            if answer.requestID != 0 && answer.grants.count >= QuotaGrants.maximumGrants {
                try await askForGrants(link)
            }
            return true
        case .ack(let ack) where ack.requestID == reportInFlight?.id:
            if let last = reportInFlight?.last { try await store.markUsageSynced(upTo: last, at: Date()) }
            reportInFlight = nil
            try await sendReceipts(link)
            return true
        case .error(let error) where error.requestID != 0 && error.requestID == reportInFlight?.id:
            reportInFlight = nil
            if error.code != .unavailable && error.code != .internalError {
                refused = true
                logger.error("usage ledger refused by the coordinator", metadata: ["error": "\(error.message)"])
            }
            return true
        case .error(let error) where error.requestID != 0 && error.requestID == syncRequest:
            syncRequest = nil
            logger.warning("the coordinator sent no quota grants", metadata: ["error": "\(error.message)"])
            return true
        default:
            return false
        }
    }

    private func askForGrants(_ link: AgentLink) async throws {
        let id = link.nextRequestID()
        syncRequest = id
        try await link.send(
            .quotaSync(QuotaSync(requestID: id, afterSequence: try await store.lastQuotaGrantSequence()))
        )
    }

    /// Keeps the grants that verify; logs the others.
    private func keep(_ records: [[UInt8]]) async throws {
        let key = try await releaseKey() ?? []
        var verified: [(sequence: UInt64, model: String, record: [UInt8])] = []
        for record in records {
            do {
                let grant = try SignedQuotaGrant(decoding: record).verify(releasePublicKey: key, deviceID: deviceID)
                verified.append((grant.sequence, grant.model, record))
                logger.info(
                    grant.action == .grant ? "quota granted" : "quota revoked",
                    metadata: ["model": "\(grant.model)", "grant": "\(grant.sequence)", "queries": "\(grant.queries)"]
                )
            } catch {
                logger.warning("quota grant refused", metadata: ["error": "\(error)"])
            }
        }
        try await store.storeQuotaGrants(verified)
    }

    private func sendReceipts(_ link: AgentLink) async throws {
        guard reportInFlight == nil, !refused else { return }
        let pending = try await store.unsyncedUsageReceipts(limit: UsageReport.maximumReceipts)
        guard let last = pending.last else { return }
        let id = link.nextRequestID()
        reportInFlight = (id, last.position)
        try await link.send(.usageReport(UsageReport(requestID: id, receipts: pending.map(\.record))))
    }
}
