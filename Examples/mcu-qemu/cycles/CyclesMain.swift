// Instruction counts on the Cortex-M4 (QEMU mps2-an386 with -icount shift=0, SysTick calibrated against a loop of
// known length) for applying the digits int8 v1 -> v2 stream-mode delta into flash and for one inference, by the
// same kit code the leaf runs. Built and run by Examples/mcu-qemu/cycles.sh with the host files' paths as arguments:
// `V1_FILE PATCH_FILE V2_FILE`. Flash is RAM here (HostFileFlash without a file). Exits 0 only when the delta
// rebuilt v2 exactly (the installer checks the SHA-256 of V2_FILE) and the model classifies the row as its label.

@_extern(c, "clock_ticks") func clockTicks() -> UInt64
@_extern(c, "ticks_per_million_instructions") func ticksPerMillionInstructions() -> UInt32

/// A host file opened by the path in argument `index`, read in pieces.
struct HostFile {
    let handle: Int32
    let length: Int

    init?(argument index: Int32) {
        let path = UnsafeMutableRawBufferPointer.allocate(byteCount: 200, alignment: 8)
        let count = hostArgument(index, path.baseAddress, 200)
        guard count > 0 else { return nil }
        handle = hostFileOpen(path.baseAddress, count)
        guard handle >= 0 else { return nil }
        length = Int(hostFileLength(handle))
    }

    /// Calls `body` with each piece of the file (at most `buffer.count` bytes) in order; false when a read failed.
    func forEachPiece(_ buffer: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var offset = 0
        while offset < length {
            let count = min(buffer.count, length - offset)
            guard hostFileRead(handle, Int32(offset), buffer.baseAddress, Int32(count)) == Int32(count),
                body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            else { return false }
            offset += count
        }
        return true
    }

    func sha256(_ buffer: UnsafeMutableRawBufferPointer) -> TinyDigest32? {
        var hasher = TinySHA256()
        guard
            forEachPiece(
                buffer,
                { piece in
                    hasher.update(piece)
                    return true
                }
            )
        else { return nil }
        return hasher.finalize()
    }
}

/// Installs `payload` (encoding `encoding`) as `model`; returns the SysTick ticks spent in the installer, nil when
/// the install failed. The host reads are outside the measured spans.
func install(
    _ payload: HostFile,
    encoding: TinyInstaller.Encoding,
    model: TinySlotRecord,
    installer: inout TinyInstaller,
    store: TinySlotStore,
    flash: inout HostFileFlash,
    buffer: UnsafeMutableRawBufferPointer
) -> UInt64? {
    var ticks: UInt64 = 0
    var offset = 0
    do throws(TinyInstallError) {
        let start = clockTicks()
        try installer.begin(store: store, flash: &flash, encoding: encoding, payloadSize: payload.length, model: model)
        ticks += clockTicks() - start
    } catch {
        return nil
    }
    let fed = payload.forEachPiece(buffer) { piece in
        let start = clockTicks()
        defer { ticks += clockTicks() - start }
        do throws(TinyInstallError) {
            try installer.feed(piece, at: offset, flash: &flash)
        } catch {
            return false
        }
        offset += piece.count
        return true
    }
    return fed && installer.isInstalled ? ticks : nil
}

func report(_ label: StaticString, _ ticks: UInt64, _ ticksPerMillion: UInt32) {
    put(label)
    putU32(UInt32(ticks * 1_000_000 / UInt64(ticksPerMillion)))
    put(" instructions\n")
}

@_cdecl("leaf_main")
func cyclesMain() -> Int32 {
    let ticksPerMillion = ticksPerMillionInstructions()
    put("SysTick ticks per 1,000,000 instructions: ")
    putU32(ticksPerMillion)
    put("\n")
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
    let page = UnsafeMutableRawBufferPointer.allocate(byteCount: Layout.pageSize, alignment: 8)
    guard var flash = HostFileFlash(base: Layout.base, path: nil),
        let store = TinySlotStore(flash: flash, slotPages: Layout.slotPages),
        let v1 = HostFile(argument: 1), let patch = HostFile(argument: 2), let v2 = HostFile(argument: 3),
        let v1Digest = v1.sha256(buffer), let v2Digest = v2.sha256(buffer)
    else {
        put("cycles: pass V1_FILE PATCH_FILE V2_FILE with -append\n")
        return 2
    }
    let name: StaticString = "digits-mlp"
    let variant: StaticString = "int8"
    func record(_ version: UInt32, _ length: Int, _ digest: TinyDigest32) -> TinySlotRecord? {
        TinySlotRecord(
            name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            variant: UnsafeRawBufferPointer(start: variant.utf8Start, count: variant.utf8CodeUnitCount),
            version: version,
            length: length,
            sha256: digest
        )
    }
    var installer = TinyInstaller(pageBuffer: page)
    guard let first = record(1, v1.length, v1Digest), let second = record(2, v2.length, v2Digest),
        install(v1, encoding: .full, model: first, installer: &installer, store: store, flash: &flash, buffer: buffer)
            != nil
    else {
        put("cycles: v1 did not install\n")
        return 1
    }
    guard
        let applyTicks = install(
            patch,
            encoding: .delta,
            model: second,
            installer: &installer,
            store: store,
            flash: &flash,
            buffer: buffer
        )
    else {
        put("cycles: the delta did not rebuild v2\n")
        return 1
    }
    report(
        "delta apply v1 -> v2 (stream patch in 1 KiB pieces, SHA-256 checked, slot switched): ",
        applyTicks,
        ticksPerMillion
    )
    guard let active = store.active(flash), active.version == 2 else { return 1 }
    let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: 64 + 2 * 256 + 16)
    do {
        let layoutStart = clockTicks()
        let layout = try TinyModelLayout(flash: flash, offset: store.offset(ofSlot: active.slot), length: active.length)
        let layoutTicks = clockTicks() - layoutStart
        let input = UnsafeMutableBufferPointer(rebasing: scratch[0..<64])
        for index in 0..<64 { input[index] = Float(digitRow[index]) / 16 }
        var meter = TinyQueryCounter()
        let start = clockTicks()
        let prediction = try TinyInference.run(
            layout,
            flash: flash,
            input: UnsafeBufferPointer(input),
            scratch: UnsafeMutableBufferPointer(rebasing: scratch[64..<(64 + 2 * layout.widest)]),
            probabilities: UnsafeMutableBufferPointer(rebasing: scratch[(64 + 2 * layout.widest)...]),
            meter: &meter
        )
        let inferenceTicks = clockTicks() - start
        report("model layout (header parse, once per install): ", layoutTicks, ticksPerMillion)
        report("one inference (digits int8 v2, one row): ", inferenceTicks, ticksPerMillion)
        put("predicted class ")
        putU32(UInt32(prediction.predictedClass))
        put(" (row label 1)\n")
        return prediction.predictedClass == 1 ? 0 : 1
    } catch {
        put("cycles: the installed model cannot be read\n")
        return 1
    }
}
