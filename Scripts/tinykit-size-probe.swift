// Compiled with the kit by Scripts/tinykit-size.sh (never by the package): a concrete flash and one C entry point per
// use of the kit, so that its generic code is specialised as firmware would specialise it, and measurable.
struct ProbeFlash: TinyFlash {
    var base: UnsafeMutableRawPointer
    var pageSize: Int { 1024 }
    var pageCount: Int { 128 }
    mutating func erasePage(_ page: Int) -> Bool {
        (base + page * 1024).initializeMemory(as: UInt8.self, repeating: 0xFF, count: 1024)
        return true
    }
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return true
    }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        buffer.baseAddress!.copyMemory(from: base + offset, byteCount: buffer.count)
        return true
    }
}
@_cdecl("probe_install")
public func probeInstall(
    _ flashBase: UnsafeMutableRawPointer,
    _ page: UnsafeMutableRawPointer,
    _ chunk: UnsafeRawPointer,
    _ count: Int,
    _ slotPages: Int,
    _ record: UnsafeRawPointer
) -> Int32 {
    let flash = ProbeFlash(base: flashBase)
    guard let store = TinySlotStore(flash: flash, slotPages: slotPages) else { return -2 }
    var installer = TinyFlashModelInstaller(
        flash: flash,
        store: store,
        pageBuffer: UnsafeMutableRawBufferPointer(start: page, count: 1024)
    )
    guard let target = TinyInstalledModel(record: UnsafeRawBufferPointer(start: record, count: 88)) else { return -3 }
    guard installer.begin(target: target, targetSize: count, encoding: UInt8(count & 1), totalBytes: count) else {
        return -1
    }
    _ = installer.write(UnsafeRawBufferPointer(start: chunk, count: count))
    return installer.finish() == .installed ? 0 : 1
}
@_cdecl("probe_infer")
public func probeInfer(
    _ flashBase: UnsafeMutableRawPointer,
    _ input: UnsafePointer<Float>,
    _ scratch: UnsafeMutablePointer<Float>,
    _ out: UnsafeMutablePointer<Float>,
    _ counts: UnsafeMutablePointer<UInt32>,
    _ cuts: UnsafePointer<Float>,
    _ cutCounts: UnsafePointer<UInt16>
) -> Int32 {
    let flash = ProbeFlash(base: flashBase)
    guard let layout = try? TinyModelLayout(flash: flash, offset: 2048, length: 51850) else { return -1 }
    var histogram = TinyDriftHistogram(
        cuts: .init(start: cuts, count: 481 - 64),
        cutCounts: .init(start: cutCounts, count: 64),
        classes: 10,
        confidenceBins: 10,
        counts: .init(start: counts, count: 501)
    )!
    guard
        let prediction = try? TinyInference.run(
            layout,
            flash: flash,
            input: .init(start: input, count: 64),
            scratch: .init(start: scratch, count: 512),
            probabilities: .init(start: out, count: 10),
            meter: &histogram
        )
    else { return -1 }
    return Int32(prediction.predictedClass)
}
