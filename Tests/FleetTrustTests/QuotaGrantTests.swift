import Foundation
import Testing

@testable import FleetTrust

private let release = ReleaseKey.generate()
private let t0 = Date(timeIntervalSince1970: 1_790_000_000)

private func grant(
    _ sequence: UInt64,
    queries: UInt64 = 100,
    device: String = "d-0011223344556677",
    model: String = "digits-mlp",
    action: QuotaGrant.Action = .grant,
    expiresAt: Date? = nil,
    grace: UInt64 = 0
) -> QuotaGrant {
    QuotaGrant(
        deviceID: device,
        model: model,
        sequence: sequence,
        action: action,
        queries: action == .grant ? queries : 0,
        issuedAt: t0,
        expiresAt: expiresAt,
        priceMicros: 1500,
        currency: "USD",
        offlineGrace: grace
    )
}

/// Grants are signed by the coordinator's release key and bound to one device and model (METERING.md, "Grant").
@Suite struct QuotaGrantTests {
    @Test func aSignedGrantRoundTripsAndVerifiesForItsDevice() throws {
        let signed = try SignedQuotaGrant.sign(grant(7, expiresAt: t0.addingTimeInterval(86_400)), with: release)
        let decoded = try SignedQuotaGrant(decoding: try signed.encoded())
        #expect(decoded == signed)
        let verified = try decoded.verify(releasePublicKey: release.publicKey, deviceID: "d-0011223344556677")
        #expect(verified.queries == 100 && verified.sequence == 7 && verified.priceMicros == 1500)
    }

    @Test func aGrantCopiedToAnotherDeviceIsRefused() throws {
        let signed = try SignedQuotaGrant.sign(grant(7), with: release)
        #expect(throws: TrustError.malformed("")) {
            try signed.verify(releasePublicKey: release.publicKey, deviceID: "d-8899aabbccddeeff")
        }
    }

    @Test func aGrantSignedByAnotherKeyOrAlteredIsRefused() throws {
        let forged = try SignedQuotaGrant.sign(grant(7), with: ReleaseKey.generate())
        #expect(throws: TrustError.badSignature("")) {
            try forged.verify(releasePublicKey: release.publicKey, deviceID: "d-0011223344556677")
        }
        var bytes = try SignedQuotaGrant.sign(grant(7, queries: 100), with: release).encoded()
        // The queries varint (100 = 0x64, after sequence 07 and action 00) raised to 127 (0x7f): same length.
        let index = try #require((0..<bytes.count - 2).first { bytes[$0...$0 + 2].elementsEqual([0x07, 0x00, 0x64]) })
        bytes[index + 2] = 0x7F
        let altered = try SignedQuotaGrant(decoding: bytes)
        #expect(altered.grant.queries == 127)
        #expect(throws: TrustError.badSignature("")) {
            try altered.verify(releasePublicKey: release.publicKey, deviceID: "d-0011223344556677")
        }
    }

    @Test func decodingIsBoundedAndStrict() throws {
        let bytes = try SignedQuotaGrant.sign(grant(7), with: release).encoded()
        #expect(throws: TrustError.malformed("")) { try SignedQuotaGrant(decoding: bytes + [0]) }
        #expect(throws: TrustError.malformed("")) { try SignedQuotaGrant(decoding: Array(bytes.dropLast())) }
        #expect(throws: TrustError.malformed("")) {
            try SignedQuotaGrant(decoding: [UInt8](repeating: 0xFF, count: 600))
        }
    }

    @Test func grantsAddUpAndAnExpiredOneStopsCounting() {
        let balance = QuotaBalance(
            grants: [grant(1, queries: 100), grant(2, queries: 50, expiresAt: t0.addingTimeInterval(60))],
            drawn: [1: 30],
            graceDrawn: [:],
            at: t0
        )
        #expect(balance.granted == 150 && balance.remaining == 120)
        let later = QuotaBalance(
            grants: balance.standing,
            drawn: [1: 30],
            graceDrawn: [:],
            at: t0.addingTimeInterval(61)
        )
        #expect(later.granted == 100 && later.remaining == 70)
    }

    @Test func queriesAreDrawnFromTheGrantThatExpiresFirst() {
        let balance = QuotaBalance(
            grants: [grant(1, queries: 100), grant(2, queries: 5, expiresAt: t0.addingTimeInterval(60))],
            drawn: [:],
            graceDrawn: [:],
            at: t0
        )
        #expect(
            balance.allocate(8, offline: false) == [
                .init(grant: 2, kind: .granted, count: 5), .init(grant: 1, kind: .granted, count: 3),
            ]
        )
    }

    @Test func aRevokeCancelsEarlierGrantsOnly() {
        let balance = QuotaBalance(
            grants: [grant(1), grant(2, action: .revoke), grant(3, queries: 10)],
            drawn: [1: 5],
            graceDrawn: [:],
            at: t0
        )
        #expect(balance.standing.map(\.sequence) == [3])
        #expect(balance.remaining == 10)
    }

    @Test func offlineGraceOnlyWhenOfflineAndBounded() {
        let balance = QuotaBalance(
            grants: [grant(1, queries: 10, grace: 4)],
            drawn: [1: 10],
            graceDrawn: [1: 1],
            at: t0
        )
        #expect(balance.allocate(10, offline: false).isEmpty)
        #expect(balance.allocate(10, offline: true) == [.init(grant: 1, kind: .offlineGrace, count: 3)])
    }

    @Test func aReceiptChainLinksByHashAndVerifiesItsSigner() throws {
        let identity = DeviceIdentity.generate()
        let device = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
        let first = try SignedUsageReceipt.sign(
            UsageReceipt(
                deviceID: device,
                index: 0,
                previous: UsageReceipt.genesis,
                model: "m",
                version: 1,
                grant: 1,
                kind: .granted,
                count: 3,
                windowStart: t0,
                windowEnd: t0
            ),
            with: identity
        )
        let second = try SignedUsageReceipt.sign(
            UsageReceipt(
                deviceID: device,
                index: 1,
                previous: try first.hash(),
                model: "m",
                version: 1,
                grant: 1,
                kind: .granted,
                count: 1,
                windowStart: t0,
                windowEnd: t0
            ),
            with: identity
        )
        #expect(try SignedUsageReceipt(decoding: try second.encoded()) == second)
        #expect(second.receipt.previous == Digest.sha256(try first.encoded()))
        #expect(second.isSigned(by: identity.publicKey))
        #expect(!second.isSigned(by: DeviceIdentity.generate().publicKey))
    }
}

extension QuotaGrantTests {
    /// The example in Protocol/METERING.md, "Grant", byte for byte.
    @Test func theDocumentedGrantBytes() throws {
        let grant = QuotaGrant(
            deviceID: "d-0011223344556677",
            model: "digits-mlp",
            sequence: 7,
            queries: 100,
            issuedAt: Date(timeIntervalSince1970: 1_790_000_000),
            priceMicros: 1500,
            currency: "USD"
        )
        let documented =
            "74696e79666c6565742d76312071756f74612d6772616e7400" + "12642d30303131323233333434353536363737"
            + "0a6469676974732d6d6c70" + "07" + "00" + "64" + "80d8c1a28c34" + "00" + "dc0b" + "03555344" + "00" + "00"
            + "00"
        #expect(Digest.hex(try grant.canonicalBytes()) == documented)
    }
}
