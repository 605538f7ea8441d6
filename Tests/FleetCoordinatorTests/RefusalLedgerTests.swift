import Foundation
import NIOCore
import Testing

@testable import FleetCoordinator

@Suite struct RefusalLedgerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let settings = RefusalLedger.Settings(window: 60, allowedPerWindow: 3, maximumSources: 2)

    /// Records refusals `(source, kind, seconds after start)` and returns which were to be recorded one by one.
    func refuse(_ ledger: inout RefusalLedger, _ refusals: [(String, String, Double)]) -> [Bool] {
        refusals.map { ledger.refused(source: $0.0, kind: $0.1, now: start + $0.2) }
    }

    @Test func firstRefusalOfEachKindIsRecordedTheRestCoalescedUntilTheWindowEnds() {
        var ledger = RefusalLedger(settings: settings)
        let recorded = refuse(
            &ledger,
            [("a", "enrol_refused", 0), ("a", "enrol_refused", 1), ("a", "auth_refused", 2), ("a", "enrol_refused", 3)]
        )
        #expect(recorded == [true, false, true, false])
        let early = ledger.expire(now: start + 59)
        #expect(early.isEmpty, "the window is still open")
        let ended = ledger.expire(now: start + 60)
        #expect(ended == [RefusalLedger.Summary(source: "a", kind: "enrol_refused", count: 2, windowStart: start)])
        #expect(ledger.trackedSources == 0)
        // A new window records its first refusal again.
        #expect(refuse(&ledger, [("a", "enrol_refused", 61)]) == [true])
    }

    @Test func aSourceOverItsAllowanceWaitsForTheEndOfItsWindow() {
        var ledger = RefusalLedger(settings: settings)
        for second in 0..<3 {
            #expect(ledger.retryAfter(source: "a", now: start + Double(second)) == nil)
            _ = refuse(&ledger, [("a", "auth_refused", Double(second))])
        }
        #expect(ledger.retryAfter(source: "a", now: start + 10) == 50)
        #expect(ledger.retryAfter(source: "b", now: start + 10) == nil, "other sources are not limited")
        #expect(ledger.retryAfter(source: "a", now: start + 60) == nil)
    }

    @Test func sourcesBeyondTheTrackedMaximumShareOneBucket() {
        var ledger = RefusalLedger(settings: settings)
        let recorded = refuse(&ledger, [("a", "k", 0), ("b", "k", 0), ("c", "k", 0), ("d", "k", 0)])
        #expect(recorded == [true, true, true, false], "c opens the shared bucket, d joins it")
        #expect(ledger.trackedSources == 3)
        let ended = ledger.expire(now: start + 60)
        #expect(
            ended == [
                RefusalLedger.Summary(source: RefusalLedger.otherSources, kind: "k", count: 1, windowStart: start)
            ]
        )
    }

    @Test func aReplacedWindowIsStillSummarised() {
        var ledger = RefusalLedger(settings: settings)
        let recorded = refuse(&ledger, [("a", "k", 0), ("a", "k", 1), ("a", "k", 70)])
        #expect(recorded == [true, false, true], "70 s later a new window records again")
        let ended = ledger.expire(now: start + 71)
        #expect(ended == [RefusalLedger.Summary(source: "a", kind: "k", count: 1, windowStart: start)])
    }

    @Test func sourcesAreIPv4AddressesAndIPv6Prefixes() throws {
        #expect(RefusalLimiter.source(of: try SocketAddress(ipAddress: "192.0.2.9", port: 4000)) == "192.0.2.9")
        let one = RefusalLimiter.source(of: try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 4000))
        let other = RefusalLimiter.source(of: try SocketAddress(ipAddress: "2001:db8:1:2:bbbb::7", port: 1))
        #expect(one == other)
        #expect(one == "2001:db8:1:2::/64")
        #expect(RefusalLimiter.source(of: try SocketAddress(ipAddress: "::ffff:192.0.2.9", port: 1)) == "192.0.2.9")
    }
}
