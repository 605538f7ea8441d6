// The kit's pay-per-query meter (TinyLeafMeter): grants signed by FleetTrust, receipts checked by FleetTrust and the
// coordinator's UsageChainCheck, frames compared with FleetWire's encoder.
import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator
@testable import FleetTinyKit

@Suite struct LeafMeteringTests {
    @Test func aGrantOfNAnswersExactlyNAndItsReceiptsVerifyOnTheCoordinator() throws {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.consume() == .unmetered)  // before any grant: answered freely, as on Linux
        #expect(leaf.receive(identity.grant(7, queries: 100)) == .kept)
        var ledger = CoordinatorLedger()
        var answered = 0
        var refused = 0
        for row in 0..<150 {
            switch leaf.consume() {
            case .answered(kind: 0): answered += 1
            case .quotaExhausted: refused += 1
            case let other: Issue.record("row \(row): \(other)")
            }
            // Sync now and then, as the link does: several receipts, each extending the chain.
            if row % 37 == 0 { try leaf.sync(into: &ledger) }
        }
        try leaf.sync(into: &ledger)
        #expect(answered == 100 && refused == 50)
        #expect(ledger.stored.count >= 4)
        #expect(ledger.verdicts.allSatisfy { $0 == .append })
        #expect(ledger.queries == 100)
        for (index, bytes) in ledger.stored.enumerated() {
            let signed = try SignedUsageReceipt(decoding: bytes)
            #expect(signed.isSigned(by: identity.publicKey))
            #expect(signed.receipt.index == UInt64(index) && signed.receipt.grant == 7)
            #expect(
                signed.receipt.model == "digits-mlp" && signed.receipt.version == 3 && signed.receipt.kind == .granted
            )
            #expect(
                signed.receipt.windowStart >= MeterIdentity.start
                    && signed.receipt.windowEnd >= signed.receipt.windowStart
            )
            #expect(
                bytes.withUnsafeBytes { TinySHA256.hash($0) }
                    == (try signed.hash()).withUnsafeBytes { TinyDigest32(bytes: $0) }
            )
        }
    }

    @Test func forgedOtherDeviceAlteredAndMalformedGrantsAreRefused() throws {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, signer: ReleaseKey.generate())) == .badSignature)
        #expect(leaf.receive(identity.grant(2, device: "d-8899aabbccddeeff")) == .otherDevice)
        var altered = identity.grant(3, queries: 100)
        let at = try #require((0..<altered.count - 2).first { altered[$0...$0 + 2].elementsEqual([0x03, 0x00, 0x64]) })
        altered[at + 2] = 0x7F  // 127 queries: same length, signature no longer matches
        #expect(leaf.receive(altered) == .badSignature)
        #expect(leaf.receive(Array(identity.grant(4).dropLast())) == .malformed)
        #expect(leaf.receive(identity.grant(5) + [0]) == .malformed)
        #expect(leaf.receive([UInt8](repeating: 0x41, count: 600)) == .malformed)
        #expect(leaf.meter.highestSequence == 0)
        // None was kept: the model is not metered.
        #expect(leaf.consume() == .unmetered)
    }

    @Test func aGrantForAnotherModelDoesNotAnswerThisOne() {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 3)) == .kept)
        #expect(leaf.receive(identity.grant(2, queries: 100, model: "kws")) == .kept)
        let results = (0..<5).map { _ in leaf.consume() }
        #expect(
            results == [.answered(kind: 0), .answered(kind: 0), .answered(kind: 0), .quotaExhausted, .quotaExhausted]
        )
        #expect(leaf.consume("kws") == .answered(kind: 0))
    }

    @Test func grantsAddUpAndARevokeOrAnExpiryStopsThem() {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        let soon = MeterIdentity.start.addingTimeInterval(1)  // 1 s after the leaf's server time
        #expect(leaf.receive(identity.grant(1, queries: 2)) == .kept)
        #expect(leaf.receive(identity.grant(2, queries: 3, expiresAt: soon)) == .kept)
        // The grant that expires first is drawn first: 3 from grant 2, then grant 1.
        #expect((0..<3).map { _ in leaf.consume() }.allSatisfy { $0 == .answered(kind: 0) })
        leaf.monotonic += 2000  // grant 2 has expired (and is spent anyway)
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.receive(identity.grant(3, action: .revoke)) == .kept)
        #expect(leaf.consume() == .quotaExhausted)
        #expect(leaf.receive(identity.grant(4, queries: 1)) == .kept)  // a later grant counts again
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.consume() == .quotaExhausted)
        #expect(leaf.receive(identity.grant(4, queries: 1)) == .duplicate)
    }

    @Test func offlineTheNewestGrantsGraceAnswersOnlyThatManyMore() throws {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 2, grace: 3)) == .kept)
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.consume(online: true) == .quotaExhausted)  // grace only while the coordinator is out of reach
        #expect((0..<3).map { _ in leaf.consume(online: false) } == Array(repeating: .answered(kind: 1), count: 3))
        #expect(leaf.consume(online: false) == .quotaExhausted)
        var ledger = CoordinatorLedger()
        let receipts = try leaf.sync(into: &ledger).map { try SignedUsageReceipt(decoding: $0).receipt }
        #expect(receipts.map(\.kind) == [.granted, .offlineGrace])
        #expect(receipts.map(\.count) == [2, 3])
    }

    @Test func countersAndTheChainSurviveARestartAndASealedReceiptIsSentAgainByteForByte() throws {
        let identity = MeterIdentity()
        let records = MeterRecords()
        var ledger = CoordinatorLedger()
        var answered = 0
        do {
            let leaf = MeterHarness(identity, records: records)
            #expect(leaf.receive(identity.grant(9, queries: 100)) == .kept)
            for _ in 0..<60 where leaf.consume() == .answered(kind: 0) { answered += 1 }
            try leaf.sync(into: &ledger)
            for _ in 0..<5 where leaf.consume() == .answered(kind: 0) { answered += 1 }
            // Sealed and sent, the ack lost in a power cut.
            let sent = try #require(leaf.nextReceipt())
            #expect(try ledger.check(sent, identity: identity) == .append)
        }
        let restarted = MeterHarness(identity, records: records)
        // Sent again byte for byte: the coordinator skips it as a duplicate, then the chain goes on.
        let again = try #require(restarted.nextReceipt())
        #expect(try ledger.check(again, identity: identity) == .duplicate)
        restarted.meter.receiptAcknowledged(storage: &restarted.storage)
        for _ in 0..<100 where restarted.consume() == .answered(kind: 0) { answered += 1 }
        try restarted.sync(into: &ledger)
        #expect(answered == 100)
        #expect(ledger.queries == 100)
        #expect(ledger.verdicts.filter { $0 != .append } == [.duplicate])
    }

    @Test func aGrantKeptBeforeAnyQueryCountsAfterARestart() {
        let identity = MeterIdentity()
        let records = MeterRecords()
        #expect(MeterHarness(identity, records: records).receive(identity.grant(1, queries: 2)) == .kept)
        let restarted = MeterHarness(identity, records: records)
        #expect((0..<3).map { _ in restarted.consume() } == [.answered(kind: 0), .answered(kind: 0), .quotaExhausted])
    }

    @Test func sixteenUnsyncedEntriesAtMostThenRefusedUntilAcknowledged() throws {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 100)) == .kept)
        // Alternating versions: each query starts an entry (an entry merges only the same grant, kind and version).
        let results = (0..<17).map { leaf.consume(version: 1 + $0 % 2) }
        #expect(results.prefix(16).allSatisfy { $0 == .answered(kind: 0) })
        #expect(results.last == .ledgerFull)
        #expect(leaf.meter.unsyncedEntries == TinyLeafMeter.pendingCapacity)
        var ledger = CoordinatorLedger()
        let receipt = try #require(leaf.nextReceipt())
        #expect(try ledger.check(receipt, identity: identity) == .append)
        leaf.meter.receiptAcknowledged(storage: &leaf.storage)
        #expect(leaf.consume(version: 2) == .answered(kind: 0))
        try leaf.sync(into: &ledger)
        // The 17th query (version 2) joined the last entry (version 2 too): 16 receipts for 17 queries.
        #expect(ledger.queries == 17 && ledger.stored.count == 16)
    }

    @Test func aLeafThatLostItsCountersDoesNotAnswerForFree() {
        let identity = MeterIdentity()
        let records = MeterRecords()
        do {
            let leaf = MeterHarness(identity, records: records)
            #expect(leaf.receive(identity.grant(1, queries: 10, grace: 2)) == .kept)
            #expect(leaf.consume() == .answered(kind: 0))
        }
        #expect(MeterHarness(identity, records: records).consume() == .answered(kind: 0))
        records.records[0] = nil  // the counters erased (or unreadable), the grant kept
        let restarted = MeterHarness(identity, records: records)
        #expect(restarted.consume() == .quotaExhausted)
        #expect(restarted.consume(online: false) == .quotaExhausted)
    }

    @Test func aGrantEditedInStorageCountsForNothing() throws {
        let identity = MeterIdentity()
        let records = MeterRecords()
        do {
            let leaf = MeterHarness(identity, records: records)
            #expect(leaf.receive(identity.grant(1, queries: 10)) == .kept)
            #expect(leaf.consume() == .answered(kind: 0))
        }
        // Queries raised from 10 (0x0a) to 127 (0x7f) in the stored grant record; the counters intact.
        var edited = try #require(records.records[1])
        let at = try #require((0..<edited.count - 2).first { edited[$0...$0 + 2].elementsEqual([0x01, 0x00, 0x0A]) })
        edited[at + 2] = 0x7F
        records.records[1] = edited
        let restarted = MeterHarness(identity, records: records)
        #expect(restarted.meter.isMeteredForTest("digits-mlp"))
        #expect(restarted.consume() == .quotaExhausted)
    }

    @Test func aCounterThatCannotBeStoredRefusesAndDrawsNothing() {
        let identity = MeterIdentity()
        let records = MeterRecords()
        let leaf = MeterHarness(identity, records: records)
        #expect(leaf.receive(identity.grant(1, queries: 2)) == .kept)
        records.failStores = true
        #expect(leaf.consume() == .storageFailed)
        #expect(leaf.receive(identity.grant(2, queries: 5)) == .storageFailed)
        records.failStores = false
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.consume() == .answered(kind: 0))
        #expect(leaf.consume() == .quotaExhausted)
    }

    @Test func aFullTableReusesOnlySpentSlotsAndKeepsTheModelMetered() {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords(), grants: 2)
        #expect(leaf.receive(identity.grant(1, queries: 1)) == .kept)
        #expect(leaf.receive(identity.grant(2, queries: 1, model: "kws")) == .kept)
        // Grant 1 is not spent yet: no room.
        #expect(leaf.receive(identity.grant(3, queries: 5)) == .tableFull)
        #expect(leaf.consume() == .answered(kind: 0))
        // Spent, but its receipt is not synced yet: still no room.
        #expect(leaf.receive(identity.grant(3, queries: 5)) == .tableFull)
        var ledger = CoordinatorLedger()
        _ = try? leaf.sync(into: &ledger)
        #expect(leaf.receive(identity.grant(3, queries: 5)) == .kept)
        // The only grant of "kws", unspent: never dropped for another model.
        #expect(leaf.receive(identity.grant(4, queries: 5, model: "other")) == .tableFull)
        #expect((0..<6).map { _ in leaf.consume() }.filter { $0 == .answered(kind: 0) }.count == 5)
    }

    @Test func usageReportAndQuotaSyncFramesMatchFleetWire() throws {
        let identity = MeterIdentity()
        let leaf = MeterHarness(identity, records: MeterRecords())
        #expect(leaf.receive(identity.grant(1, queries: 10)) == .kept)
        #expect(leaf.consume() == .answered(kind: 0))
        let receipt = try #require(leaf.nextReceipt())
        var storage = [UInt8](repeating: 0, count: 1024)
        let kitReport = try storage.withUnsafeMutableBytes { buffer in
            var writer = TinyWireWriter(buffer)
            return Array(
                try receipt.withUnsafeBytes { try TinyOutbound.usageReport(requestID: 300, receipt: $0, into: &writer) }
            )
        }
        let hostReport = LeafWire.fleetWireFrame(.usageReport(UsageReport(requestID: 300, records: [receipt])))
        #expect(kitReport == hostReport)
        let kitSync = try storage.withUnsafeMutableBytes { buffer in
            var writer = TinyWireWriter(buffer)
            return Array(try TinyOutbound.quotaSync(requestID: 5, afterSequence: 1 << 40, into: &writer))
        }
        #expect(kitSync == LeafWire.fleetWireFrame(.quotaSync(QuotaSync(requestID: 5, afterSequence: 1 << 40))))
    }

    @Test func quotaGrantsIsDecodedWithEveryCountAndLengthBounded() throws {
        let identity = MeterIdentity()
        let grants = [identity.grant(1), identity.grant(2, model: "kws")]
        let frame = LeafWire.fleetWireFrame(.quotaGrants(QuotaGrants(requestID: 4, records: grants)))
        try Self.withDecoded(frame) { inbound in
            guard case .quotaGrants(let message) = inbound else {
                Issue.record("not quotaGrants")
                return
            }
            #expect(message.requestID == 4 && message.count == 2)
            #expect(Array(message.grants).map { Array($0) } == grants)
        }
        // 257 grants, and a grant above 512 bytes: refused before any is looked at.
        let many = LeafWire.fleetWireFrame(
            .quotaGrants(QuotaGrants(requestID: 0, records: Array(repeating: [1], count: 257)))
        )
        #expect(throws: TinyWireError.invalidValue) { try Self.withDecoded(many) }
        let large = LeafWire.fleetWireFrame(
            .quotaGrants(QuotaGrants(requestID: 0, records: [Array(repeating: 1, count: 513)]))
        )
        #expect(throws: TinyWireError.invalidValue) { try Self.withDecoded(large) }
        // A count larger than the bytes left.
        #expect(throws: TinyWireError.truncated) { try Self.withDecoded([0, 0, 0, 4, 0x72, 0, 0x7F, 0]) }
    }

    /// Decodes `frame` with the kit and calls `body` with the message (valid only inside `body`).
    static func withDecoded(_ frame: [UInt8], _ body: (TinyInbound) throws -> Void = { _ in }) throws {
        var storage = frame
        try storage.withUnsafeMutableBytes { buffer in
            let payload = UnsafeRawBufferPointer(rebasing: buffer[5..<buffer.count])
            try body(try TinyInbound(TinyFrame(type: buffer[4], payload: payload)))
        }
    }
}

/// TinyLeaf's metering on the link (SPEC.md 15a, METERING.md "On a leaf"), with the coordinator played by the test.
@Suite struct LeafMeteringSessionTests {
    @Test func quotaSyncAfterWelcomeOneReceiptInFlightAnd3xxStopsSyncUntilTheNextConnection() throws {
        let world = LeafWorld()
        let leaf = LeafUnderTest.meteredRunningDigits(world)
        let release = ReleaseKey.generate()
        leaf.connect(release: release)
        let sync = try #require(try world.sent().compactMap { if case .quotaSync(let s) = $0 { s } else { nil } }.first)
        #expect(sync.afterSequence == 0 && !leaf.leaf.quotaSynced)
        let deviceID = leaf.leaf.withDeviceID { String(decoding: $0, as: UTF8.self) }
        let grant = QuotaGrant(
            deviceID: deviceID,
            model: "digits-mlp",
            sequence: 1,
            queries: 5,
            issuedAt: Date(timeIntervalSince1970: 0),
            priceMicros: 1500,
            currency: "USD"
        )
        world.send(
            .quotaGrants(
                QuotaGrants(
                    requestID: sync.requestID,
                    records: [try SignedQuotaGrant.sign(grant, with: release).encoded()]
                )
            )
        )
        leaf.poll()
        #expect(leaf.leaf.quotaSynced && leaf.leaf.refusedGrants == 0)
        #expect((0..<3).map { _ in leaf.leaf.meterInference() } == Array(repeating: .answered(kind: 0), count: 3))
        func reports() throws -> [UsageReport] {
            try world.sent().compactMap { if case .usageReport(let r) = $0 { r } else { nil } }
        }
        leaf.poll()
        let first = try reports()
        #expect(first.count == 1 && first.first?.records.count == 1)
        let receipt = try SignedUsageReceipt(decoding: try #require(first.first?.records.first)).receipt
        #expect(receipt.count == 3 && receipt.index == 0 && receipt.deviceID == deviceID)
        // One in flight: nothing more until it is answered.
        #expect(leaf.leaf.meterInference() == .answered(kind: 0))
        world.now += 2000
        leaf.poll()
        #expect(try reports().isEmpty)
        // A 3xx: no more reports on this connection.
        world.send(
            .error(ErrorMessage(requestID: try #require(first.first?.requestID), code: .conflict, message: "refused"))
        )
        world.now += 10_000
        leaf.poll()
        #expect(try reports().isEmpty)
        // The next connection sends the sealed receipt again, byte for byte, then the next once it is acknowledged.
        world.closeLink = true
        leaf.poll()
        leaf.connect(release: release)
        let again = try reports()
        #expect(again.map(\.records) == first.map(\.records))
        world.send(.ack(Ack(requestID: try #require(again.first?.requestID))))
        leaf.poll()
        let next = try reports()
        let second = try SignedUsageReceipt(decoding: try #require(next.first?.records.first)).receipt
        #expect(second.index == 1 && second.count == 1)
    }
}
