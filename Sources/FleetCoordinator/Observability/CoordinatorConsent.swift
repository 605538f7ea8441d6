import FleetStore
import FleetTrust
import Foundation
import Synchronization

/// The coordinator's own copy of a device's consent: the stored history, verified with the device's enrolled
/// key. Nothing a device sends is stored unless this copy covers it.
struct CoordinatorConsent: Sendable {
    let device: DeviceRecord
    let ledger: ConsentLedger
    let stored: [StoredConsentRecord]

    /// Loads a device's history and its verified ledger; nil when the device is not enrolled.
    static func load(
        deviceID: String,
        store: CoordinatorStore,
        ledgers: ConsentLedgers
    ) async throws
        -> CoordinatorConsent?
    {
        guard let device = try await store.device(id: deviceID) else { return nil }
        let stored = try await store.consentRecords(deviceID: deviceID)
        let ledger = try ledgers.ledger(of: device, records: stored)
        return CoordinatorConsent(device: device, ledger: ledger, stored: stored)
    }

    /// Loads and verifies a device's history without keeping its ledger.
    static func load(deviceID: String, store: CoordinatorStore) async throws -> CoordinatorConsent? {
        try await load(deviceID: deviceID, store: store, ledgers: ConsentLedgers())
    }

    /// The sequence of the record that grants `purpose` at `instant`, if it is granted.
    func grantInForce(_ purpose: ConsentPurpose, at instant: Date) -> UInt64? {
        ledger.grantInForce(purpose, at: instant)
    }
}

/// Verified consent ledgers kept between requests, one per device, so that a device's records are verified
/// (Ed25519) once, not on every request. A kept ledger is used only when it was built from the records given
/// (the same count and last sequence): a device's records are only ever appended, and are erased only with it.
final class ConsentLedgers: Sendable {
    private let ledgers = Mutex<[String: ConsentLedger]>([:])

    /// The ledger of `records`, re-verified with the device's key unless a kept ledger covers exactly them.
    func ledger(of device: DeviceRecord, records: [StoredConsentRecord]) throws -> ConsentLedger {
        if let kept = ledgers.withLock({ $0[device.id] }), kept.history.count == records.count,
            kept.lastSequence == records.last?.sequence
        {
            return kept
        }
        let history = try records.map { try SignedConsentRecord(decoding: $0.record) }
        let ledger = try ConsentLedger.restoring(deviceID: device.id, publicKey: device.publicKey, history: history)
        keep(ledger)
        return ledger
    }

    /// Keeps a ledger just extended by an accepted record.
    func keep(_ ledger: ConsentLedger) {
        ledgers.withLock { $0[ledger.deviceID] = ledger }
    }

    /// Forgets a device's ledger (it was removed).
    func forget(deviceID: String) {
        ledgers.withLock { $0[deviceID] = nil }
    }
}

extension StoredConsentRecord {
    init(_ signed: SignedConsentRecord, bytes: [UInt8], receivedAt: Date) {
        self.init(
            deviceID: signed.record.deviceID,
            sequence: signed.record.sequence,
            purpose: signed.record.purpose.rawValue,
            action: signed.record.action.rawValue,
            until: signed.record.until,
            issuedAt: signed.record.issuedAt,
            record: bytes,
            receivedAt: receivedAt
        )
    }
}
