import FleetTrust
import Foundation
import Testing

@testable import FleetCoordinator

private let identity = DeviceIdentity.generate()
private let device = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
private let t0 = Date(timeIntervalSince1970: 1_790_000_000)

private func receipt(
    _ index: UInt64,
    previous: [UInt8],
    count: UInt64 = 1,
    signer: DeviceIdentity = identity
)
    throws -> SignedUsageReceipt
{
    try SignedUsageReceipt.sign(
        UsageReceipt(
            deviceID: device,
            index: index,
            previous: previous,
            model: "digits-mlp",
            version: 1,
            grant: 1,
            kind: .granted,
            count: count,
            windowStart: t0,
            windowEnd: t0
        ),
        with: signer
    )
}

/// Each tampering with a device's ledger that the chain shows is refused with its evidence (METERING.md,
/// "Verification").
@Suite struct UsageChainCheckTests {
    private func check(
        _ signed: SignedUsageReceipt,
        head: SignedUsageReceipt?,
        stored: [UInt8]? = nil
    ) throws
        -> UsageChainCheck.Verdict
    {
        UsageChainCheck.check(
            signed,
            hash: try signed.hash(),
            deviceID: device,
            publicKey: identity.publicKey,
            head: try head.map { ($0.receipt.index, try $0.hash()) },
            stored: stored
        )
    }

    @Test func theNextReceiptIsAppendedAndTheSameOneAgainIsADuplicate() throws {
        let first = try receipt(0, previous: UsageReceipt.genesis)
        let second = try receipt(1, previous: try first.hash())
        #expect(try check(first, head: nil) == .append)
        #expect(try check(second, head: first) == .append)
        #expect(try check(first, head: second, stored: try first.hash()) == .duplicate)
    }

    @Test func aRewoundLedgerIsRefused() throws {
        let first = try receipt(0, previous: UsageReceipt.genesis, count: 5)
        let restarted = try receipt(0, previous: UsageReceipt.genesis, count: 1)
        guard case .refuse(let reason) = try check(restarted, head: first, stored: try first.hash()) else {
            Issue.record("a second receipt 0 was accepted")
            return
        }
        #expect(reason.contains("rewind or fork at position 0"))
    }

    @Test func aMissingReceiptIsAGap() throws {
        let first = try receipt(0, previous: UsageReceipt.genesis)
        let second = try receipt(1, previous: try first.hash())
        let third = try receipt(2, previous: try second.hash())
        guard case .refuse(let reason) = try check(third, head: first) else {
            Issue.record("a gap was accepted")
            return
        }
        #expect(reason.contains("gap: expected receipt 1, received 2"))
    }

    @Test func aReceiptThatDoesNotLinkToTheHeadIsRefused() throws {
        let first = try receipt(0, previous: UsageReceipt.genesis)
        let unlinked = try receipt(1, previous: [UInt8](repeating: 7, count: 32))
        guard case .refuse(let reason) = try check(unlinked, head: first) else {
            Issue.record("a broken link was accepted")
            return
        }
        #expect(reason.contains("broken chain at 1"))
    }

    @Test func aReceiptSignedByAnotherKeyIsRefused() throws {
        let forged = try receipt(0, previous: UsageReceipt.genesis, signer: DeviceIdentity.generate())
        guard case .refuse(let reason) = try check(forged, head: nil) else {
            Issue.record("a receipt of another signer was accepted")
            return
        }
        #expect(reason.contains("wrong signer"))
    }
}

/// The model-extraction alarm on hand-made daily totals (METERING.md, "Volume alert").
@Suite struct VolumeAlertTests {
    let alert = VolumeAlert()

    @Test func tenTimesTheUsualVolumeRaisesTheAlertWithItsEvidence() throws {
        var daily: [Int64: UInt64] = [:]
        for day in Int64(93)..<100 { daily[day] = 100 + UInt64(day % 3) }
        daily[100] = 1_000
        let evidence = try #require(alert.check(daily: daily, today: 100))
        #expect(evidence.hasPrefix("1000 queries today, over 5× the median of 101 a day"))
    }

    @Test func usualVolumeOrTooLittleHistoryRaisesNothing() {
        var daily: [Int64: UInt64] = [:]
        for day in Int64(93)..<100 { daily[day] = 100 }
        daily[100] = 500
        #expect(alert.check(daily: daily, today: 100) == nil, "5× is not over 5×")
        #expect(alert.check(daily: [98: 10, 99: 10, 100: 1_000], today: 100) == nil, "two days are no history")
        #expect(alert.check(daily: [90: 10, 91: 10, 92: 10, 100: 1_000], today: 100) == nil, "older than 7 days")
    }
}
