import Foundation
import Testing

@testable import FleetTrust

private let identity = DeviceIdentity.generate()
private let deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func record(
    _ purpose: ConsentPurpose = .driftStats,
    _ action: ConsentRecord.Action = .grant,
    sequence: UInt64,
    at issuedAt: Date = t0,
    until: Date? = nil,
    device: String = deviceID,
    signer: DeviceIdentity = identity
) throws -> SignedConsentRecord {
    let record = ConsentRecord(
        deviceID: device,
        purpose: purpose,
        action: action,
        until: until,
        issuedAt: issuedAt,
        sequence: sequence
    )
    return try SignedConsentRecord.sign(record, with: signer)
}

@Test func purposesHaveExactWireNames() {
    #expect(ConsentPurpose.allCases.map(\.rawValue) == ["drift-stats", "samples", "training", "feedback"])
}

@Test func nothingIsGrantedByDefault() {
    let ledger = ConsentLedger(deviceID: deviceID)
    for purpose in ConsentPurpose.allCases {
        #expect(!ledger.isGranted(purpose, at: t0))
        #expect(ledger.state(at: t0)[purpose] == .notGranted)
    }
}

@Test func grantRevokeAndExpiryOverTime() throws {
    var ledger = ConsentLedger(deviceID: deviceID)
    try ledger.apply(try record(sequence: 1, at: t0), publicKey: identity.publicKey, now: t0)
    try ledger.apply(
        try record(.samples, sequence: 2, at: t0 + 10, until: t0 + 3_600),
        publicKey: identity.publicKey,
        now: t0 + 10
    )
    try ledger.apply(
        try record(.driftStats, .revoke, sequence: 3, at: t0 + 1_000),
        publicKey: identity.publicKey,
        now: t0 + 1_000
    )
    #expect(!ledger.isGranted(.driftStats, at: t0 - 1), "records apply from their issue time")
    #expect(ledger.isGranted(.driftStats, at: t0 + 50))
    #expect(ledger.state(of: .driftStats, at: t0 + 1_200) == .revoked(at: t0 + 1_000))
    #expect(ledger.isGranted(.samples, at: t0 + 3_599))
    #expect(ledger.state(of: .samples, at: t0 + 3_600) == .expired(at: t0 + 3_600))
    #expect(!ledger.isGranted(.training, at: t0 + 50))
    #expect(ledger.history.map(\.record.sequence) == [1, 2, 3])
    let restored = try ConsentLedger.restoring(
        deviceID: deviceID,
        publicKey: identity.publicKey,
        history: ledger.history
    )
    #expect(restored == ledger)
}

@Test func forgedExpiredOutOfOrderAndFutureRecordsAreRefused() throws {
    var ledger = ConsentLedger(deviceID: deviceID)
    let key = identity.publicKey
    try ledger.apply(try record(sequence: 5, at: t0), publicKey: key, now: t0)
    // Forged: signed by another key, or a signed record altered afterwards.
    let forger = DeviceIdentity.generate()
    #expect(throws: ConsentError.forged()) {
        try ledger.apply(try record(sequence: 6, signer: forger), publicKey: key, now: t0)
    }
    let genuine = try record(.training, sequence: 6, at: t0)
    let altered = ConsentRecord(
        deviceID: deviceID,
        purpose: .samples,
        action: .grant,
        issuedAt: t0,
        sequence: 6
    )
    #expect(throws: ConsentError.forged()) {
        try ledger.apply(SignedConsentRecord(record: altered, signature: genuine.signature), publicKey: key, now: t0)
    }
    // Out of order: replayed or lower sequence, or a grant dated before the last record.
    #expect(throws: ConsentError.outOfOrder()) { try ledger.apply(try record(sequence: 5), publicKey: key, now: t0) }
    #expect(throws: ConsentError.outOfOrder()) { try ledger.apply(try record(sequence: 4), publicKey: key, now: t0) }
    #expect(throws: ConsentError.outOfOrder()) {
        try ledger.apply(try record(sequence: 7, at: t0 - 60), publicKey: key, now: t0)
    }
    // Expired: a grant whose `until` already passed; a grant ending before it starts is meaningless.
    #expect(throws: ConsentError.expired()) {
        try ledger.apply(try record(sequence: 8, at: t0, until: t0 + 30), publicKey: key, now: t0 + 60)
    }
    #expect(throws: ConsentError.invalid()) {
        try ledger.apply(try record(sequence: 8, at: t0, until: t0 - 1), publicKey: key, now: t0 - 10)
    }
    // Future: issued beyond the 5-minute skew allowance; within it is fine.
    #expect(throws: ConsentError.fromTheFuture()) {
        try ledger.apply(try record(sequence: 9, at: t0 + 301), publicKey: key, now: t0)
    }
    try ledger.apply(try record(sequence: 9, at: t0 + 299), publicKey: key, now: t0)
    // Wrong device: the record names another device, or the key is another device's.
    #expect(throws: ConsentError.wrongDevice()) {
        try ledger.apply(try record(sequence: 10, at: t0 + 299, device: "d-other"), publicKey: key, now: t0)
    }
    #expect(throws: ConsentError.wrongDevice()) {
        try ledger.apply(try record(sequence: 10, signer: forger), publicKey: forger.publicKey, now: t0)
    }
    #expect(ledger.history.map(\.record.sequence) == [5, 9], "refused records change nothing")
}

@Test func revokeIsAcceptedEvenWithAnEarlierClock() throws {
    var ledger = ConsentLedger(deviceID: deviceID)
    try ledger.apply(try record(sequence: 1, at: t0), publicKey: identity.publicKey, now: t0)
    try ledger.apply(
        try record(.driftStats, .revoke, sequence: 2, at: t0 - 3_600),
        publicKey: identity.publicKey,
        now: t0
    )
    #expect(!ledger.isGranted(.driftStats, at: t0 + 1))
}

@Test func consentWireEncodingIsStrict() throws {
    let signed = try record(.samples, sequence: 300, at: t0, until: t0 + 86_400)
    let encoded = try signed.encoded()
    #expect(Array(encoded.prefix(21)) == Array("tinyfleet-v1 consent\0".utf8))
    #expect(try SignedConsentRecord(decoding: encoded) == signed)
    for length in 0..<encoded.count {
        #expect(throws: TrustError.malformed("")) { try SignedConsentRecord(decoding: Array(encoded.prefix(length))) }
    }
    #expect(throws: TrustError.malformed("")) { try SignedConsentRecord(decoding: encoded + [0]) }
    let revokeWithUntil = ConsentRecord(
        deviceID: deviceID,
        purpose: .samples,
        action: .revoke,
        until: t0,
        issuedAt: t0,
        sequence: 1
    )
    #expect(throws: TrustError.malformed("")) { try revokeWithUntil.canonicalBytes() }
}

@Test func aRevokeDatedAheadWithinTheSkewIsInForceFromTheMomentItIsApplied() throws {
    var ledger = ConsentLedger(deviceID: deviceID)
    try ledger.apply(try record(.samples, sequence: 1, at: t0), publicKey: identity.publicKey, now: t0)
    // The device's clock runs 4 minutes ahead of the receiver's (the skew allows 5).
    try ledger.apply(
        try record(.samples, .revoke, sequence: 2, at: t0 + 840),
        publicKey: identity.publicKey,
        now: t0 + 600
    )
    #expect(!ledger.isGranted(.samples, at: t0 + 600), "not left in force until the device's clock catches up")
    #expect(ledger.grantInForce(.samples, at: t0 + 600) == nil)
    #expect(ledger.grantInForce(.samples, at: t0 + 100) == 1, "history well before the revocation stays granted")
}
