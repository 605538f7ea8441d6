import FleetWire
import NIOCore
import Testing

/// The health summary's bounds (SPEC 5.41): entries, fixed bin counts and consistent counts are checked before
/// anything is kept.
@Suite struct HealthSummaryTests {
    func decode(_ summary: HealthSummary) throws -> HealthSummary {
        var buffer = ByteBuffer()
        summary.write(to: &buffer)
        var reader = WireReader(buffer)
        let decoded = try HealthSummary(reading: &reader)
        try reader.expectEnd()
        return decoded
    }

    @Test func boundsAreEnforced() throws {
        let entry = HealthEntry(model: "m", version: 1, queries: 3, errors: 1, labelled: 2, correct: 2)
        let ok = HealthSummary(requestID: 1, windowMilliseconds: 5000, starts: 2, entries: [entry])
        #expect(try decode(ok) == ok)
        var many = ok
        many.entries = (1...33).map { HealthEntry(model: "m", version: $0) }
        #expect(throws: FleetWireError.self) { try decode(many) }
        var bins = ok
        bins.entries[0].confidence = [1, 2, 3]
        #expect(throws: FleetWireError.self) { try decode(bins) }
        var errors = ok
        errors.entries[0].errors = 4
        #expect(throws: FleetWireError.self) { try decode(errors) }
        var correct = ok
        correct.entries[0].correct = 3
        #expect(throws: FleetWireError.self) { try decode(correct) }
        var window = ok
        window.windowMilliseconds = HealthSummary.maximumWindowMilliseconds + 1
        #expect(throws: FleetWireError.self) { try decode(window) }
    }

    @Test func binsFollowTheDocumentedBounds() {
        #expect([0.5, 1, 1.01, 10, 10.5, 1000, 1000.5].map(HealthEntry.latencyBucket) == [0, 0, 1, 1, 2, 3, 4])
        #expect([0, 0.0999, 0.1, 0.95, 1, 1.5, -1, .nan].map(HealthEntry.confidenceBin) == [0, 0, 1, 9, 9, 9, 0, 0])
    }
}
