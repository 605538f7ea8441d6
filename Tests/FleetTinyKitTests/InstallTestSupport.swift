// Helpers of the flash and install tests: a simulated NOR flash that can lose power, models, and an install driver.
import FleetDelta
import FleetLearning
import Foundation

@testable import FleetTinyKit

/// A page-addressed NOR flash in memory: erase sets a page to 0xFF, programming can only clear bits (it ANDs).
/// With ``cutAfter`` set, the flash loses power after that many erases and writes: the next one is torn (half the
/// page erased, or the first half of the bytes programmed) and every later operation fails until ``restart()``.
final class SimulatedFlash: TinyFlash {
    let pageSize: Int
    let pageCount: Int
    private(set) var bytes: [UInt8]
    private(set) var operations = 0
    var cutAfter: Int? = nil
    private(set) var powered = true

    init(pageSize: Int, pageCount: Int) {
        self.pageSize = pageSize
        self.pageCount = pageCount
        bytes = [UInt8](repeating: 0xFF, count: pageSize * pageCount)
    }

    /// An independent copy of the flash's contents.
    func cloned() -> SimulatedFlash {
        let copy = SimulatedFlash(pageSize: pageSize, pageCount: pageCount)
        copy.bytes = bytes
        return copy
    }

    /// Power comes back; no cut is planned.
    func restart() {
        powered = true
        cutAfter = nil
    }

    /// Counts an operation; false (after tearing it with `tear`) when the power goes now.
    private func survives(_ tear: () -> Void) -> Bool {
        guard powered else { return false }
        if let cutAfter, operations >= cutAfter {
            tear()
            powered = false
            return false
        }
        operations += 1
        return true
    }

    func erasePage(_ page: Int) -> Bool {
        guard page >= 0, page < pageCount else { return false }
        let start = page * pageSize
        guard survives({ for index in start..<(start + pageSize / 2) { bytes[index] = 0xFF } }) else { return false }
        for index in start..<(start + pageSize) { bytes[index] = 0xFF }
        return true
    }

    func write(at offset: Int, _ data: UnsafeRawBufferPointer) -> Bool {
        guard offset >= 0, offset + data.count <= bytes.count else { return false }
        let torn = data.count / 2
        guard survives({ for index in 0..<torn { bytes[offset + index] &= data[index] } }) else { return false }
        for index in 0..<data.count { bytes[offset + index] &= data[index] }
        return true
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard powered, offset >= 0, offset + buffer.count <= bytes.count else { return false }
        for index in 0..<buffer.count { buffer[index] = bytes[offset + index] }
        return true
    }
}

enum InstallFixtures {
    /// A model fixture of FleetDelta's tests (copies of shared/models).
    static func model(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../FleetDeltaTests/Fixtures/\(name).safetensors")
        return Array(try Data(contentsOf: url))
    }

    /// A safetensors int8 MLP with random weights (`layers` sizes) and per-tensor scales, like the digits int8
    /// variant.
    static func randomInt8Model(layers: [Int], seed: UInt64) throws -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        var writer = SafeTensorsWriter(metadata: ["variant": "int8"])
        for index in 0..<(layers.count - 1) {
            let (inputs, outputs) = (layers[index], layers[index + 1])
            for (suffix, count, shape) in [
                ("weight", inputs * outputs, [outputs, inputs]), ("bias", outputs, [outputs]),
            ] {
                let name = "fc\(index + 1).\(suffix)"
                let values = (0..<count).map { _ in
                    UInt8(truncatingIfNeeded: Int8.random(in: -60...60, using: &generator))
                }
                try writer.add(name: name, dtype: .i8, shape: shape, bytes: values)
                let scale = Float.random(in: 0.001...0.01, using: &generator)
                try writer.add(name: name + "_scale", dtype: .f32, shape: [], bytes: float32(scale))
            }
        }
        return writer.build()
    }

    /// `model` retrained a little: every tensor's bytes move by small steps (a few change more), scales by < 2 %.
    static func retrained(_ model: [UInt8], seed: UInt64, changed fraction: Double = 0.7) throws -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        let file = try SafeTensorsFile.parse(model)
        var bytes = model
        for tensor in file.tensors {
            if tensor.dtype == .f32 {
                let scale = Float(bitPattern: bytes[tensor.range].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
                let moved = scale * Float.random(in: 0.98...1.02, using: &generator)
                bytes.replaceSubrange(tensor.range, with: float32(moved))
                continue
            }
            for index in tensor.range where Double.random(in: 0..<1, using: &generator) < fraction {
                let step = Int.random(in: -3...3, using: &generator)
                bytes[index] = UInt8(
                    truncatingIfNeeded: Int(Int8(clamping: Int(Int8(bitPattern: bytes[index])) + step))
                )
            }
        }
        return bytes
    }

    static func float32(_ value: Float) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> UInt32(8 * $0)) }
    }

    static func sha256(_ bytes: [UInt8]) -> TinyDigest32 {
        var hasher = TinySHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    /// The slot record a verified manifest would give for `model`.
    static func record(
        _ model: [UInt8],
        name: String = "digits-mlp",
        variant: String = "int8",
        version: UInt32
    )
        -> TinySlotRecord
    {
        Array(name.utf8).withUnsafeBytes { name in
            Array(variant.utf8).withUnsafeBytes { variant in
                TinySlotRecord(
                    name: name,
                    variant: variant,
                    version: version,
                    length: model.count,
                    sha256: sha256(model)
                )!
            }
        }
    }
}

/// A leaf's flash with a store, and a driver that installs payloads in chunks.
struct InstallBench {
    let flash: SimulatedFlash
    let store: TinySlotStore
    var pageBuffer: UnsafeMutableRawBufferPointer

    init(pageSize: Int = 1024, slotBytes: Int) {
        let slotPages = (slotBytes + pageSize - 1) / pageSize
        flash = SimulatedFlash(pageSize: pageSize, pageCount: 2 + 2 * slotPages)
        store = TinySlotStore(flash: flash, slotPages: slotPages)!
        pageBuffer = .allocate(byteCount: pageSize, alignment: 8)
    }

    private init(flash: SimulatedFlash, store: TinySlotStore, pageBuffer: UnsafeMutableRawBufferPointer) {
        (self.flash, self.store, self.pageBuffer) = (flash, store, pageBuffer)
    }

    /// A bench over a copy of this one's flash (sharing the page buffer).
    func cloned() -> InstallBench { InstallBench(flash: flash.cloned(), store: store, pageBuffer: pageBuffer) }

    /// The active model's bytes, read back from its slot (nil when none is active).
    func activeModel() -> [UInt8]? {
        let flash = flash
        flash.restartIfNeeded()
        guard let record = store.active(flash) else { return nil }
        let start = store.offset(ofSlot: record.slot)
        return Array(flash.bytes[start..<(start + record.length)])
    }

    /// Installs `payload` in chunks of `chunk` bytes; throws the installer's error (a power cut shows as `.flash`).
    func install(
        _ payload: [UInt8],
        encoding: TinyInstaller.Encoding,
        model: TinySlotRecord,
        chunk: Int = 200
    ) throws(TinyInstallError) {
        var flash = flash
        var installer = TinyInstaller(pageBuffer: pageBuffer)
        try installer.begin(store: store, flash: &flash, encoding: encoding, payloadSize: payload.count, model: model)
        var offset = 0
        while offset < payload.count || payload.isEmpty {
            let end = min(payload.count, offset + chunk)
            try feed(&installer, payload[offset..<end], at: offset, flash: &flash)
            offset = end
            if payload.isEmpty { break }
        }
        guard installer.isInstalled else { throw TinyInstallError.notInstalling }
    }
}

extension SimulatedFlash {
    fileprivate func restartIfNeeded() { if !powered { restart() } }
}

/// Feeds `bytes` (payload offset `offset`) to `installer`, with the installer's typed error.
func feed(
    _ installer: inout TinyInstaller,
    _ bytes: ArraySlice<UInt8>,
    at offset: Int,
    flash: inout SimulatedFlash
) throws(TinyInstallError) {
    var failure: TinyInstallError?
    bytes.withUnsafeBytes { raw in
        do throws(TinyInstallError) {
            _ = try installer.feed(raw, at: offset, flash: &flash)
        } catch {
            failure = error
        }
    }
    if let failure { throw failure }
}
