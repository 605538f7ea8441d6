// The streaming installer: full payloads and stream-mode deltas into A/B slots, checked against FleetDelta.
import FleetDelta
import FleetLearning
import Testing

@testable import FleetTinyKit

@Suite struct InstallTests {
    static let pairs = [
        ("digits-mlp-v1-int8", "digits-mlp-v2-int8"), ("digits-mlp-v2-int8", "digits-mlp-v3-int8"),
        ("digits-mlp-v3-int8", "digits-mlp-v1-int8"), ("digits-mlp-v1-fp32", "digits-mlp-v2-fp32"),
        ("digits-mlp-v2-fp32", "digits-mlp-v3-fp32"),
    ]

    @Test func crc32MatchesZlib() throws {
        var generator = SeededGenerator(seed: 7)
        for length in [0, 1, 3, 64, 1000, 4097] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var crc = TinyCRC32()
            bytes.withUnsafeBytes { crc.update($0) }
            #expect(crc.value == Zlib.crc32(bytes))
        }
    }

    /// For every fixture pair: the leaf installs the old model in full, then the new one from a stream-mode delta;
    /// the active slot then holds exactly what FleetDelta's decoder rebuilds from the tensor-mode patch and from
    /// the stream-mode patch (the new file).
    @Test(arguments: pairs) func deltaInstallMatchesFleetDelta(old: String, new: String) throws {
        let (oldModel, newModel) = (try InstallFixtures.model(old), try InstallFixtures.model(new))
        let bench = InstallBench(slotBytes: 210_000)
        try bench.install(oldModel, encoding: .full, model: InstallFixtures.record(oldModel, version: 1))
        #expect(bench.activeModel() == oldModel)
        let stream = try DeltaCodec.encode(old: oldModel, new: newModel, options: DeltaOptions(streaming: true))
        #expect(stream[4] == 2)
        for chunk in [1, 7, 200, 4096] {
            let bench = InstallBench(slotBytes: 210_000)
            try bench.install(oldModel, encoding: .full, model: InstallFixtures.record(oldModel, version: 1))
            try bench.install(
                stream,
                encoding: .delta,
                model: InstallFixtures.record(newModel, version: 2),
                chunk: chunk
            )
            #expect(bench.activeModel() == newModel)
            #expect(bench.store.active(bench.flash)?.version == 2)
        }
        #expect(try DeltaCodec.apply(old: oldModel, patch: stream) == newModel)
        let tensorPatch = try DeltaCodec.encode(old: oldModel, new: newModel)
        #expect(try DeltaCodec.apply(old: oldModel, patch: tensorPatch) == newModel)
    }

    /// Random int8 models retrained by random amounts: the leaf's output equals FleetDelta's, bit for bit.
    @Test func randomModelPairsMatchFleetDelta() throws {
        for seed in UInt64(1)...12 {
            let layers = [[64, 32, 10], [100, 300, 7], [17, 5], [256, 256, 256, 10]][Int(seed) % 4]
            let old = try InstallFixtures.randomInt8Model(layers: layers, seed: seed)
            let new = try InstallFixtures.retrained(old, seed: seed + 100, changed: [0.02, 0.5, 1.0][Int(seed) % 3])
            let patch = try DeltaCodec.encode(old: old, new: new, options: DeltaOptions(streaming: true))
            let host = try DeltaCodec.apply(old: old, patch: patch)
            #expect(host == new)
            let bench = InstallBench(pageSize: [256, 1024, 4096][Int(seed) % 3], slotBytes: 140_000)
            try bench.install(old, encoding: .full, model: InstallFixtures.record(old, version: 1))
            try bench.install(
                patch,
                encoding: .delta,
                model: InstallFixtures.record(new, version: 2),
                chunk: 1 + Int(seed) * 37
            )
            #expect(bench.activeModel() == host)
        }
    }

    /// Arbitrary bytes (not safetensors) take the copy/literal path of stream mode.
    @Test func arbitraryFilesInstallFromStreamDeltas() throws {
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<6 {
            let old = (0..<Int.random(in: 0...5000, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            var new = old
            for _ in 0..<Int.random(in: 0...20, using: &generator) where !new.isEmpty {
                new[Int.random(in: 0..<new.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            new += (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            let patch = try DeltaCodec.encode(old: old, new: new, options: DeltaOptions(streaming: true))
            let bench = InstallBench(pageSize: 256, slotBytes: 6_000)
            try bench.install(old, encoding: .full, model: InstallFixtures.record(old, version: 1))
            try bench.install(patch, encoding: .delta, model: InstallFixtures.record(new, version: 2), chunk: 33)
            #expect(bench.activeModel() == new)
        }
    }

    /// A 1 MB model (int8 1024 x 1024 layer): delta and full install with the same installer state.
    @Test func oneMegabyteModel() throws {
        let old = try InstallFixtures.randomInt8Model(layers: [1024, 1024], seed: 11)
        let new = try InstallFixtures.retrained(old, seed: 12, changed: 0.3)
        #expect(old.count > 1_000_000)
        let patch = try DeltaCodec.encode(old: old, new: new, options: DeltaOptions(streaming: true))
        let bench = InstallBench(pageSize: 4096, slotBytes: old.count)
        try bench.install(old, encoding: .full, model: InstallFixtures.record(old, version: 1), chunk: 65_536)
        try bench.install(patch, encoding: .delta, model: InstallFixtures.record(new, version: 2), chunk: 1000)
        #expect(bench.activeModel() == new)
        #expect(patch.count < new.count / 2)
    }

    /// A flipped payload byte, a wrong manifest digest, a delta for another base, a tensor-mode patch, and a
    /// payload that does not fit: each is refused and the old model stays active and intact.
    @Test func badPayloadsLeaveTheOldModel() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let v3 = try InstallFixtures.model("digits-mlp-v3-int8")
        let patch = try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true))
        let record2 = InstallFixtures.record(v2, version: 2)
        var cases: [([UInt8], TinyInstaller.Encoding, TinySlotRecord, [TinyInstallError])] = []
        for position in [20, patch.count / 2, patch.count - 3] {
            var tampered = patch
            tampered[position] ^= 0x10
            cases.append((tampered, .delta, record2, [.corrupt, .checksumMismatch, .digestMismatch]))
        }
        var tamperedFull = v2
        tamperedFull[30_000] ^= 1
        cases.append((tamperedFull, .full, record2, [.digestMismatch]))
        cases.append((patch, .delta, InstallFixtures.record(v3, version: 2), [.corrupt, .digestMismatch]))
        let otherBase = try DeltaCodec.encode(old: v3, new: v2, options: DeltaOptions(streaming: true))
        cases.append((otherBase, .delta, record2, [.wrongBase]))
        cases.append((try DeltaCodec.encode(old: v1, new: v2), .delta, record2, [.unsupportedMode]))
        cases.append((Array(patch.prefix(40)), .delta, record2, [.corrupt, .checksumMismatch]))
        for (payload, encoding, record, expected) in cases {
            let bench = InstallBench(slotBytes: 60_000)
            try bench.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
            #expect(throws: TinyInstallError.self) { try bench.install(payload, encoding: encoding, model: record) }
            do {
                try bench.install(payload, encoding: encoding, model: record)
            } catch {
                #expect(expected.contains(error), "got \(error)")
            }
            #expect(bench.activeModel() == v1)
            #expect(bench.store.active(bench.flash)?.version == 1)
        }
        let small = InstallBench(slotBytes: 40_000)
        #expect(throws: TinyInstallError.tooLarge) {
            try small.install(v2, encoding: .full, model: InstallFixtures.record(v2, version: 2))
        }
        #expect(small.activeModel() == nil)
    }

    /// Chunks may repeat what was fed (a resumed transfer), never skip ahead.
    @Test func resumesFromNextOffset() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let patch = try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true))
        let bench = InstallBench(slotBytes: 60_000)
        try bench.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
        var flash = bench.flash
        var installer = TinyInstaller(pageBuffer: bench.pageBuffer)
        try installer.begin(
            store: bench.store,
            flash: &flash,
            encoding: .delta,
            payloadSize: patch.count,
            model: InstallFixtures.record(v2, version: 2)
        )
        var generator = SeededGenerator(seed: 5)
        while !installer.isInstalled {
            let start = max(0, installer.nextOffset - Int.random(in: 0...50, using: &generator))
            let end = min(patch.count, installer.nextOffset + Int.random(in: 1...700, using: &generator))
            try feed(&installer, patch[start..<end], at: start, flash: &flash)
        }
        #expect(bench.activeModel() == v2)
        var refused = TinyInstaller(pageBuffer: bench.pageBuffer)
        try refused.begin(
            store: bench.store,
            flash: &flash,
            encoding: .full,
            payloadSize: v1.count,
            model: InstallFixtures.record(v1, version: 3)
        )
        #expect(throws: TinyInstallError.gap) {
            try feed(&refused, v1[10..<20], at: 10, flash: &flash)
        }
    }

    /// The full payload of SPEC.md 11.3 (zlib) inflates straight into the slot, its window read back from flash:
    /// every compression level (stored blocks at 0, fixed and dynamic codes above), models and arbitrary bytes.
    @Test func zlibPayloadsInflateIntoTheSlot() throws {
        var generator = SeededGenerator(seed: 8)
        var files = [try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-fp32")]
        files.append((0..<70_000).map { _ in UInt8.random(in: 0...3, using: &generator) })
        files.append((0..<5_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        for (index, file) in files.enumerated() {
            for level: Int32 in [0, 1, 6, 9] {
                let payload = try Zlib.compress(file, level: level)
                let bench = InstallBench(pageSize: [256, 1024, 4096][index % 3], slotBytes: max(file.count, 1))
                try bench.install(payload, encoding: .zlib, model: InstallFixtures.record(file, version: 1), chunk: 97)
                #expect(bench.activeModel() == file, "file \(index) level \(level)")
            }
        }
    }

    @Test func corruptZlibPayloadsLeaveTheOldModel() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let payload = try Zlib.compress(v2, level: 9)
        var generator = SeededGenerator(seed: 13)
        for trial in 0..<40 {
            var broken = payload
            if trial % 4 == 0 {
                broken.removeLast(Int.random(in: 1..<broken.count, using: &generator))
            } else {
                broken[Int.random(in: 0..<broken.count, using: &generator)] ^= UInt8.random(
                    in: 1...255,
                    using: &generator
                )
            }
            let bench = InstallBench(slotBytes: 60_000)
            try bench.install(v1, encoding: .full, model: InstallFixtures.record(v1, version: 1))
            #expect(throws: TinyInstallError.self) {
                try bench.install(broken, encoding: .zlib, model: InstallFixtures.record(v2, version: 2))
            }
            #expect(bench.activeModel() == v1)
        }
    }

    /// The installer's RAM is its own value (fixed-size storage only: no arrays, no classes) plus the integrator's
    /// page buffer, whatever the model: the same type installs the 52 KB digits model and the 1 MB model above.
    /// Prints the figures the README quotes.
    @Test func installerRAMIsAConstant() {
        // The value copied from frame to frame stays small; the decoders' state is one object made with it.
        #expect(MemoryLayout<TinyInstaller>.size <= 320)
        let installer = MemoryLayout<TinyInstaller>.size + TinyInstallerWork.stateBytes
        let parts = [
            ("stream models", MemoryLayout<TinyStreamModels>.size),
            ("diff operation (column sums)", MemoryLayout<TinyStreamOperation>.size),
            ("inflate state", MemoryLayout<TinyInflateState>.size),
            ("input window", MemoryLayout<TinyInputWindow>.size),
            ("slot record", MemoryLayout<TinySlotRecord>.size),
        ]
        print("TinyInstaller: \(installer) bytes (" + parts.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")")
        // The diff operation (delta) and the inflate state (zlib) share one region: never alive together.
        let overlaid = min(MemoryLayout<TinyStreamOperation>.size, MemoryLayout<TinyInflateState>.size)
        #expect(parts.reduce(0) { $0 + $1.1 } - overlaid <= installer)
        // 6,368 bytes before the overlay, 5,264 after, 4,586 with packed bit models, less with packed counts and
        // column sums (the diff operation no longer the larger of the two overlaid).
        #expect(installer < 4_000)
        // The 678 bit models (DELTA.md 12.2) packed: a 16-bit probability each and a 5-bit count (at most 30) each,
        // bit-packed, plus one byte (2,712 bytes before, 2,034 with a byte per count).
        #expect(TinyStreamModels.Index.count == 678)
        #expect(MemoryLayout<TinyStreamModels>.size == 2 * 678 + (5 * 678 + 7) / 8 + 1)
        // The diff's column sums, packed (TinyColumnSums): at most 1,424 bytes where two 32-bit sums for 256 columns
        // took 2,048.
        #expect(MemoryLayout<TinyStreamOperation>.size <= 1_424 + 96)
        // DELTA.md 12: the stream-mode decoder's state (models, column sums, input window) is about 5 KB.
        let streamDecoder =
            MemoryLayout<TinyStreamModels>.size + MemoryLayout<TinyStreamOperation>.size
            + MemoryLayout<TinyInputWindow>.size
        #expect(streamDecoder <= 5_000)
        #expect(MemoryLayout<TinySlotStore>.size <= 32)
    }

    /// The leaf session's interface: a zlib full payload, then a stream-mode delta, then a tampered delta.
    @Test func sessionInstallerInterface() throws {
        let (v1, v2) = (
            try InstallFixtures.model("digits-mlp-v1-int8"), try InstallFixtures.model("digits-mlp-v2-int8")
        )
        let bench = InstallBench(slotBytes: 60_000)
        var installer = TinyFlashModelInstaller(flash: bench.flash, store: bench.store, pageBuffer: bench.pageBuffer)
        #expect(installer.installedModel() == nil && installer.accepts(encoding: 0) && !installer.accepts(encoding: 1))
        func model(_ bytes: [UInt8], _ version: Int) -> TinyInstalledModel {
            Array("digits-mlp".utf8).withUnsafeBytes { name in
                Array("int8".utf8).withUnsafeBytes { variant in
                    InstallFixtures.sha256(bytes).withUnsafeBytes { digest in
                        TinyInstalledModel(name: name, version: version, variant: variant, sha256: digest)!
                    }
                }
            }
        }
        func send(_ payload: [UInt8], encoding: UInt8, for bytes: [UInt8], version: Int) -> TinyInstallOutcome {
            guard
                installer.begin(
                    target: model(bytes, version),
                    targetSize: bytes.count,
                    encoding: encoding,
                    totalBytes: payload.count
                )
            else { return .storageError }
            for start in stride(from: 0, to: payload.count, by: 512) {
                let ok = payload[start..<min(payload.count, start + 512)].withUnsafeBytes { installer.write($0) }
                if !ok { return .storageError }
            }
            return installer.finish()
        }
        #expect(send(try Zlib.compress(v1, level: 9), encoding: 0, for: v1, version: 1) == .installed)
        #expect(installer.installedModel()?.matches(model(v1, 1)) == true)
        let patch = try DeltaCodec.encode(old: v1, new: v2, options: DeltaOptions(streaming: true))
        var tampered = patch
        tampered[patch.count / 2] ^= 4
        #expect([.reconstructionFailed, .hashMismatch].contains(send(tampered, encoding: 1, for: v2, version: 2)))
        #expect(send(v2, encoding: 1, for: v2, version: 2) == .reconstructionFailed, "a whole file is not a delta")
        #expect(installer.installedModel()?.matches(model(v1, 1)) == true)
        #expect(send(patch, encoding: 1, for: v2, version: 2) == .installed)
        #expect(installer.installedModel()?.matches(model(v2, 2)) == true)
        #expect(bench.activeModel() == v2)
    }
}
