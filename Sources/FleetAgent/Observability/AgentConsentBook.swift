import FleetStore
import FleetTrust
import Foundation

/// The device owner's consent, kept on the device: each change is a record signed with the device's identity
/// key, checked with the same ``ConsentLedger`` rules the coordinator applies, stored in `agent.sqlite` and
/// synced by the observability feature. Nothing is granted by default.
public struct AgentConsentBook: Sendable {
    public let store: AgentStore
    public let identity: DeviceIdentity
    public var deviceID: String { DeviceIdentity.deviceID(forPublicKey: identity.publicKey) }

    public init(store: AgentStore, identity: DeviceIdentity) {
        self.store = store
        self.identity = identity
    }

    /// Signs and stores a grant (or revoke) for `purpose`. A `samples` revocation empties the sample queue at
    /// once; a `drift-stats` revocation drops open drift windows. Returns the record and the purged sample count.
    @discardableResult
    public func change(
        _ purpose: ConsentPurpose,
        action: ConsentRecord.Action,
        until: Date? = nil,
        now: Date = Date()
    ) async throws -> (record: ConsentRecord, purgedSamples: Int) {
        // The same checks as the coordinator's, so that the owner hears of a refusal here and now (and again
        // inside the transaction, against the records as they are there).
        var current = try await ledger()
        let probe = ConsentRecord(
            deviceID: deviceID,
            purpose: purpose,
            action: action,
            until: action == .grant ? until : nil,
            issuedAt: now,
            sequence: (current.lastSequence ?? 0) + 1
        )
        try current.apply(try SignedConsentRecord.sign(probe, with: identity), publicKey: identity.publicKey, now: now)
        let identity = self.identity
        let deviceID = self.deviceID
        let publicKey = identity.publicKey
        let (row, purged) = try await store.appendConsentRecord { sequence, existing in
            let record = ConsentRecord(
                deviceID: deviceID,
                purpose: purpose,
                action: action,
                until: action == .grant ? until : nil,
                issuedAt: now,
                sequence: sequence
            )
            let signed = try SignedConsentRecord.sign(record, with: identity)
            var ledger = try Self.ledger(rows: existing, deviceID: deviceID, publicKey: publicKey)
            try ledger.apply(signed, publicKey: publicKey, now: now)
            return AgentConsentRow(
                sequence: sequence,
                purpose: purpose.rawValue,
                action: action.rawValue,
                until: record.until,
                issuedAt: record.issuedAt,
                record: try signed.encoded()
            )
        }
        let signed = try SignedConsentRecord(decoding: row.record)
        return (signed.record, purged)
    }

    /// The ledger of the stored records.
    public func ledger() async throws -> ConsentLedger {
        try Self.ledger(rows: try await store.consentRecords(), deviceID: deviceID, publicKey: identity.publicKey)
    }

    /// Whether `purpose` is granted now.
    public func isGranted(_ purpose: ConsentPurpose, at instant: Date = Date()) async throws -> Bool {
        try await ledger().isGranted(purpose, at: instant)
    }

    /// Rebuilds a ledger from stored rows (each re-verified with the device's key).
    public static func ledger(rows: [AgentConsentRow], deviceID: String, publicKey: [UInt8]) throws -> ConsentLedger {
        try ConsentLedger.restoring(
            deviceID: deviceID,
            publicKey: publicKey,
            history: try rows.map { try SignedConsentRecord(decoding: $0.record) }
        )
    }

    /// A closure for checks inside a store transaction: whether `purpose` is granted at `instant` by `rows`.
    public func grantCheck(_ purpose: ConsentPurpose, at instant: Date) -> @Sendable ([AgentConsentRow]) -> Bool {
        let deviceID = self.deviceID
        let publicKey = identity.publicKey
        return { rows in
            (try? Self.ledger(rows: rows, deviceID: deviceID, publicKey: publicKey).isGranted(purpose, at: instant))
                ?? false
        }
    }
}
