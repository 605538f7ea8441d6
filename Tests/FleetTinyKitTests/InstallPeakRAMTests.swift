// Peak RAM of a delta apply (issue 10, "Measure"): the same for the 52 KB digits model and for a 1 MB model.
import FleetDelta
import Testing

@testable import FleetTinyKit

@Suite struct InstallPeakRAMTests {
    /// One installer value, its decoder state and one page buffer apply the digits v1 → v2 delta and a delta
    /// between two 1 MB models. What they use does not grow with the model: the installer's value and state are
    /// fixed-size types, the state object made at start-up is the one both applies use, and the stack below the
    /// caller at the deepest flash access (sampled at every read, erase and program) is the same for both models.
    @Test func aDeltaApplyUsesTheSameRAMForTheDigitsModelAndAOneMegabyteModel() throws {
        let (digitsOld, digitsNew) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let bigOld = try InstallFixtures.randomInt8Model(layers: [1024, 1024], seed: 11)
        let bigNew = try InstallFixtures.retrained(bigOld, seed: 12, changed: 0.3)
        #expect(bigOld.count > 1_000_000 && digitsOld.count < 60_000)
        let bench = InstallBench(pageSize: 4096, slotBytes: bigOld.count)
        let probe = StackProbe()
        var flash = StackProbingFlash(flash: bench.flash, probe: probe)
        let store = bench.store
        var installer = TinyInstaller(pageBuffer: bench.pageBuffer)
        let work = ObjectIdentifier(installer.work)
        var version: UInt32 = 0

        /// Installs `old` in full, then applies the delta to `new`; returns the deepest stack and the pages written.
        func apply(_ old: [UInt8], _ new: [UInt8]) throws -> (stack: Int, pages: Int) {
            version += 1
            try run(&installer, store, old, .full, InstallFixtures.record(old, version: version), &flash)
            let patch = try DeltaCodec.encode(old: old, new: new, options: DeltaOptions(streaming: true))
            version += 1
            probe.reset()
            try run(&installer, store, patch, .delta, InstallFixtures.record(new, version: version), &flash)
            #expect(bench.activeModel() == new)
            return (probe.deepest, probe.pagesWritten)
        }
        let digits = try apply(digitsOld, digitsNew)
        let big = try apply(bigOld, bigNew)
        #expect(big.pages > 15 * digits.pages)
        #expect(ObjectIdentifier(installer.work) == work)
        #expect(digits.stack > 0)
        #expect(big.stack == digits.stack)
        let state = MemoryLayout<TinyInstaller>.size + TinyInstallerWork.stateBytes
        print(
            "delta apply RAM: installer \(state) B + page buffer \(bench.pageBuffer.count) B; deepest stack at a "
                + "flash access (host, debug build): digits \(digits.stack) B over \(digits.pages) pages, "
                + "1 MB model \(big.stack) B over \(big.pages) pages"
        )
    }

    /// Feeds `payload` in 1000-byte chunks through `installer` (begun again for each payload).
    private func run(
        _ installer: inout TinyInstaller,
        _ store: TinySlotStore,
        _ payload: [UInt8],
        _ encoding: TinyInstaller.Encoding,
        _ model: TinySlotRecord,
        _ flash: inout StackProbingFlash
    ) throws {
        try installer.begin(
            store: store,
            flash: &flash,
            encoding: encoding,
            payloadSize: payload.count,
            model: model
        )
        var offset = 0
        while offset < payload.count {
            let end = min(payload.count, offset + 1000)
            var outcome: Result<Bool, TinyInstallError> = .success(false)
            payload[offset..<end].withUnsafeBytes { raw in
                do throws(TinyInstallError) {
                    outcome = .success(try installer.feed(raw, at: offset, flash: &flash))
                } catch {
                    outcome = .failure(error)
                }
            }
            let done = try outcome.get()
            offset = end
            #expect(done == (offset == payload.count))
        }
    }
}

/// The deepest stack address seen below the test's frame, sampled when the installer touches flash.
final class StackProbe {
    private let top = StackProbe.here()
    private(set) var deepest = 0
    private(set) var pagesWritten = 0

    func reset() { (deepest, pagesWritten) = (0, 0) }

    func sample(erase: Bool = false) {
        deepest = max(deepest, top - Self.here())
        if erase { pagesWritten += 1 }
    }

    @inline(never)
    private static func here() -> Int {
        var marker = 0
        return withUnsafeMutablePointer(to: &marker) { Int(bitPattern: $0) }
    }
}

/// A ``SimulatedFlash`` that samples the stack at every operation.
struct StackProbingFlash: TinyFlash {
    let flash: SimulatedFlash
    let probe: StackProbe

    var pageSize: Int { flash.pageSize }
    var pageCount: Int { flash.pageCount }

    func erasePage(_ page: Int) -> Bool {
        probe.sample(erase: true)
        return flash.erasePage(page)
    }

    func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        probe.sample()
        return flash.write(at: offset, bytes)
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        probe.sample()
        return flash.read(at: offset, into: buffer)
    }
}
