// Power cuts after every single flash operation of an install: the leaf always restarts on the old model or the
// new one, bit-exact, and installing again then succeeds.
import FleetDelta
import Testing

@testable import FleetTinyKit

@Suite struct PowerCutTests {
    /// Installs `payload` over `base` with the power cut after 0, 1, 2, ... flash operations (each cut tears the
    /// operation it interrupts), until an install runs to the end; after each cut the flash restarts and must hold
    /// the old or the new model, then an install started again from offset 0 must end on the new model.
    func cutEverywhere(
        base: InstallBench,
        old: [UInt8]?,
        payload: [UInt8],
        encoding: TinyInstaller.Encoding,
        new: [UInt8]
    ) throws -> (cuts: Int, endedOld: Int, endedNew: Int) {
        let record = InstallFixtures.record(new, version: 2)
        var (endedOld, endedNew) = (0, 0)
        var cut = 0
        while true {
            let bench = base.cloned()
            bench.flash.cutAfter = cut
            do {
                try bench.install(payload, encoding: encoding, model: record, chunk: 300)
                break
            } catch {
                #expect(error == .flash, "cut \(cut): \(error)")
            }
            bench.flash.restart()
            let active = bench.activeModel()
            if active == new {
                endedNew += 1
            } else {
                #expect(active == old, "cut after \(cut) operations: neither the old nor the new model")
                endedOld += 1
            }
            try bench.install(payload, encoding: encoding, model: record, chunk: 300)
            #expect(bench.activeModel() == new)
            cut += 1
        }
        return (cut, endedOld, endedNew)
    }

    @Test func deltaInstallSurvivesACutAfterEveryPageOperation() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let base = InstallBench(slotBytes: 60_000)
        try base.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
        let patch = try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true))
        let result = try cutEverywhere(base: base, old: v1, payload: patch, encoding: .delta, new: v2)
        // 51 pages erased and written, then the record page erased and written.
        #expect(result.cuts == 2 * 51 + 2)
        #expect(result.endedOld == result.cuts)
        #expect(result.endedNew == 0)
    }

    @Test func fullInstallSurvivesACutAfterEveryPageOperation() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let empty = InstallBench(slotBytes: 60_000)
        let first = try cutEverywhere(base: empty, old: nil, payload: v1, encoding: .full, new: v1)
        #expect(first.cuts == 2 * 51 + 2)
        let base = InstallBench(slotBytes: 60_000)
        try base.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
        try base.install(v2, encoding: .full, model: InstallFixtures.record(v2, version: 2))
        // A third install writes slot 0 again and the record copy 0 again: the alternation is exercised too.
        let third = try cutEverywhere(base: base, old: v2, payload: v1, encoding: .full, new: v1)
        #expect(third.cuts == 2 * 51 + 2)
    }

    @Test func zlibInstallSurvivesACutAfterEveryPageOperation() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let base = InstallBench(slotBytes: 60_000)
        try base.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
        let payload = try Zlib.compress(v2, level: 9)
        let result = try cutEverywhere(base: base, old: v1, payload: payload, encoding: .zlib, new: v2)
        #expect(result.cuts == 2 * 51 + 2)
    }
}
