import FleetWire
import Foundation
import Testing

/// Rollback directives are accepted once: the agent keeps a persisted high-water mark of the directives it carried
/// out per model, so a recorded directive replayed after its rollback was undone is refused.
@Suite struct RollbackReplayTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aDirectiveCarriedOutThenUndoneCannotBeReplayed() async throws {
        var harness = try ModelSyncHarness()
        defer { harness.cleanUp() }
        let v1 = try ModelSyncHarness.model(fill: 1)
        let v2 = try ModelSyncHarness.model(fill: 2)
        let release1 = try harness.manifest(version: 1, file: v1, issuedAt: Self.t0)
        let release2 = try harness.manifest(version: 2, file: v2, issuedAt: Self.t0 + 60)
        let directive = try harness.manifest(version: 1, file: v1, issuedAt: Self.t0 + 120, kind: .rollback)
        #expect(try await harness.deliver(manifest: release1, file: v1))
        #expect(try await harness.deliver(manifest: release2, file: v2))
        #expect(try await harness.deliver(manifest: directive, file: v1), "the directive rolls back to v1")
        #expect(try harness.installed()?.version == "1")
        #expect(try await harness.deliver(manifest: release2, file: v2), "the rollback is undone: v2 again")
        #expect(try harness.installed()?.version == "2")

        // The same directive again (recorded on the way, or re-sent): refused before any download; v2 stays.
        #expect(await harness.offer(manifest: directive) == nil)
        #expect(try harness.installed()?.version == "2")
        let report = try #require(try await harness.reports().last)
        #expect(report.outcome == .refused && report.code == "stale-directive", "\(report.code): \(report.detail)")

        // The mark is on disk: after a restart the replay is still refused.
        try harness.restart()
        #expect(await harness.offer(manifest: directive) == nil)
        #expect(try harness.installed()?.version == "2")

        // A directive issued later is a new decision, and is carried out.
        let newer = try harness.manifest(version: 1, file: v1, issuedAt: Self.t0 + 180, kind: .rollback)
        #expect(try await harness.deliver(manifest: newer, file: v1))
        #expect(try harness.installed()?.version == "1")
    }
}
