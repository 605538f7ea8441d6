import FleetStore
import FleetTrust
import Foundation

/// The coordinator's own copy of a device's consent: the stored history, re-verified with the device's enrolled
/// key. Nothing a device sends is stored unless this copy covers it.
struct CoordinatorConsent: Sendable {
    let device: DeviceRecord
    let ledger: ConsentLedger
    let stored: [StoredConsentRecord]

    /// Loads and re-verifies a device's history; nil when the device is not enrolled.
    static func load(deviceID: String, store: CoordinatorStore) async throws -> CoordinatorConsent? {
        guard let device = try await store.device(id: deviceID) else { return nil }
        let stored = try await store.consentRecords(deviceID: deviceID)
        let history = try stored.map { try SignedConsentRecord(decoding: $0.record) }
        let ledger = try ConsentLedger.restoring(deviceID: deviceID, publicKey: device.publicKey, history: history)
        return CoordinatorConsent(device: device, ledger: ledger, stored: stored)
    }

    /// The sequence of the record that grants `purpose` at `instant`, if it is granted.
    func grantInForce(_ purpose: ConsentPurpose, at instant: Date) -> UInt64? {
        guard ledger.isGranted(purpose, at: instant) else { return nil }
        return ledger.history.last { $0.record.purpose == purpose && $0.record.issuedAt <= instant }?.record.sequence
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
