// The A/B slot store's two record copies: which one names the active model, and which page a commit writes.
import Testing

@testable import FleetTinyKit

@Suite struct SlotStoreTests {
    /// The record in copy `copy` (page 0 or 1 of the store), nil when it is not valid.
    private func record(copy: Int, _ bench: InstallBench) -> TinySlotRecord? {
        var raw = [UInt8](repeating: 0, count: TinySlotRecord.size)
        let read = raw.withUnsafeMutableBytes { bench.flash.read(at: copy * bench.store.pageSize, into: $0) }
        return read ? raw.withUnsafeBytes { TinySlotRecord(raw: $0) } : nil
    }

    private func commit(_ version: UInt32, _ bench: InstallBench) -> Bool {
        var flash = bench.flash
        let model = [UInt8](repeating: UInt8(version), count: 100)
        return bench.store.commit(InstallFixtures.record(model, version: version), flash: &flash)
    }

    /// Commits alternate between the two pages with increasing sequences; the valid copy with the higher sequence
    /// is active, and a corrupt newest copy leaves the other one active.
    @Test func theActiveRecordIsTheValidCopyWithTheHigherSequence() {
        let bench = InstallBench(slotBytes: 4096)
        #expect(bench.store.active(bench.flash) == nil)
        for version in UInt32(1)...3 {
            #expect(commit(version, bench))
            #expect(bench.store.active(bench.flash)?.version == version)
            #expect(bench.store.active(bench.flash)?.sequence == version)
        }
        #expect(record(copy: 0, bench)?.version == 3)
        #expect(record(copy: 1, bench)?.version == 2)
        // Programming can only clear bits: a zero byte in the name breaks copy 0's CRC-32.
        #expect([UInt8(0)].withUnsafeBytes { bench.flash.write(at: 60, $0) })
        #expect(record(copy: 0, bench) == nil)
        #expect(bench.store.active(bench.flash)?.version == 2)
        // The next commit goes to the page that does not hold the active record, after its sequence.
        #expect(commit(4, bench))
        #expect(record(copy: 0, bench)?.version == 4)
        #expect(bench.store.active(bench.flash)?.sequence == 3)
        #expect(record(copy: 1, bench)?.version == 2)
    }

    /// Two valid copies with the same sequence (not written by commits, but a store must not lose its active
    /// record over it): copy 0 is active, and a commit writes copy 1, leaving copy 0 intact until the new record
    /// is complete.
    @Test func aCommitOverTwoEqualSequencesKeepsTheActiveCopy() {
        let bench = InstallBench(slotBytes: 4096)
        #expect(commit(1, bench))
        var raw = [UInt8](repeating: 0, count: TinySlotRecord.size)
        #expect(raw.withUnsafeMutableBytes { bench.flash.read(at: 0, into: $0) })
        #expect(raw.withUnsafeBytes { bench.flash.write(at: bench.store.pageSize, $0) })
        #expect(record(copy: 1, bench)?.sequence == 1)
        #expect(bench.store.active(bench.flash)?.version == 1)
        #expect(commit(2, bench))
        #expect(record(copy: 0, bench)?.version == 1)
        #expect(record(copy: 1, bench)?.version == 2)
        #expect(bench.store.active(bench.flash)?.version == 2)
        #expect(bench.store.active(bench.flash)?.sequence == 2)
    }
}
