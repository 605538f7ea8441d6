// The TinyFleet leaf firmware for QEMU mps2-an386 (Cortex-M4): FleetTinyKit's TinyLeaf over UART0, enrolling with
// the token the host passes, installing models through TinyFlashModelInstaller into RAM standing in for flash, and
// classifying one digit through the installed int8 model after each install. The application's queries arrive on
// UART1 (one `q` byte each): each is classified, then metered by the leaf's TinyLeafMeter (pay-per-query, grants
// from the coordinator) before its answer is given. Compiled together with the kit by Examples/mcu-qemu/build.sh;
// startup.c and uart.c are its C side. Console lines go out over semihosting.

@_extern(c, "put_bytes") func putBytes(_ bytes: UnsafeRawPointer?, _ count: Int32)
@_extern(c, "clock_milliseconds") func clockMilliseconds() -> UInt64
@_extern(c, "stack_used") func stackUsed() -> UInt32
@_extern(c, "stack_repaint") func stackRepaint()
@_extern(c, "heap_used") func heapUsed() -> UInt32
@_extern(c, "uart_init") func uartInit()
@_extern(c, "uart_receive") func uartReceive(_ into: UnsafeMutableRawPointer?, _ capacity: Int32) -> Int32
@_extern(c, "uart_send") func uartSend(_ bytes: UnsafeRawPointer?, _ count: Int32)
@_extern(c, "app_uart_init") func appUartInit()
@_extern(c, "app_uart_read") func appUartRead() -> Int32
@_extern(c, "app_uart_write") func appUartWrite(_ byte: UInt8)

/// The kit's platform on mps2-an386: UART0 as the transport, SysTick as the clock, a test-only random source, and
/// flash and key storage in RAM mirrored to a host file (HostFileFlash.swift, test-only).
struct QEMUPlatform: TinyPlatform {
    var flash: HostFileFlash
    /// TEST ONLY. mps2-an386 has no TRNG: the random bytes are SHA-256(seed ‖ counter) over a 32-byte seed that the
    /// host passes on the semihosting command line (run.sh takes it from /dev/urandom). A real board reads its TRNG.
    var seed = TinyDigest32()
    var counter: UInt32 = 0

    // TinyTransport: the UART is always open; a closed link cannot be seen (the session's silence limit drops it).
    mutating func connect() -> Bool { true }
    mutating func disconnect() {}
    mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        Int(uartReceive(buffer.baseAddress, Int32(buffer.count)))
    }
    mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        uartSend(bytes.baseAddress, Int32(bytes.count))
        return true
    }

    // TinyClock
    func monotonicMilliseconds() -> UInt64 { clockMilliseconds() }

    // TinyRandom
    mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        var filled = 0
        while filled < buffer.count {
            var hash = TinySHA256()
            seed.withUnsafeBytes { hash.update($0) }
            withUnsafeBytes(of: &counter) { hash.update($0) }
            counter &+= 1
            let block = hash.finalize()
            let count = min(32, buffer.count - filled)
            for index in 0..<count { buffer[filled + index] = block[index] }
            filled += count
        }
        return true
    }

    // TinyKeyStorage: the page after the flash, one 128-byte entry per record, each saved with one host write.
    private func entry(_ record: TinyRecord) -> UnsafeMutableRawPointer {
        flash.base + Layout.flashBytes + Int(record.rawValue) * Layout.recordStride
    }
    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        let entry = entry(record)
        guard entry.load(as: UInt8.self) == 1, buffer.count == record.size else { return false }
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: entry + 1, count: record.size))
        return true
    }
    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == record.size, record.size < Layout.recordStride else { return false }
        let entry = entry(record)
        UnsafeMutableRawBufferPointer(start: entry + 1, count: bytes.count).copyMemory(from: bytes)
        entry.storeBytes(of: 1, as: UInt8.self)
        return flash.save(from: entry - flash.base, count: Layout.recordStride)
    }

    // TinyKeyStorage, the meter's records: each in its own 1 KiB piece after the key storage page, saved with one
    // host write (old or new bytes after a kill -9, as TinyKeyStorage asks).
    private func meterEntry(_ index: Int) -> UnsafeMutableRawPointer? {
        guard index >= 0, index <= Layout.meterGrants else { return nil }
        return flash.base + Layout.meterRecordsOffset + index * Layout.meterRecordStride
    }
    func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let entry = meterEntry(index), entry.load(as: UInt8.self) == 1,
            Int(entry.load(fromByteOffset: 1, as: UInt8.self)) | Int(entry.load(fromByteOffset: 2, as: UInt8.self)) << 8
                == buffer.count
        else { return false }
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: entry + 3, count: buffer.count))
        return true
    }
    mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let entry = meterEntry(index), bytes.count <= Layout.meterRecordStride - 3 else { return false }
        entry.storeBytes(of: 1, as: UInt8.self)
        entry.storeBytes(of: UInt8(truncatingIfNeeded: bytes.count), toByteOffset: 1, as: UInt8.self)
        entry.storeBytes(of: UInt8(truncatingIfNeeded: bytes.count >> 8), toByteOffset: 2, as: UInt8.self)
        UnsafeMutableRawBufferPointer(start: entry + 3, count: bytes.count).copyMemory(from: bytes)
        return flash.save(from: entry - flash.base, count: Layout.meterRecordStride)
    }

    // TinyFlash
    var pageSize: Int { flash.pageSize }
    var pageCount: Int { flash.pageCount }
    mutating func erasePage(_ page: Int) -> Bool { flash.erasePage(page) }
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool { flash.write(at: offset, bytes) }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        flash.read(at: offset, into: buffer)
    }
}

/// The largest frame the leaf takes (the gateway cuts transfer chunks to fit), as fleet-tiny-sim.
let receiveBufferSize = 4 + 16 * 1024
let sendBufferSize = 2048

func text(_ bytes: UnsafeRawBufferPointer) { putBytes(bytes.baseAddress, Int32(bytes.count)) }

/// Classifies the digit row with the active model and prints `classified digit: class C (row label L)`: the
/// firmware's own check of a model it just installed or booted with, not an application's query (not metered).
func classify(_ installer: TinyFlashModelInstaller<HostFileFlash>, scratch: UnsafeMutableBufferPointer<Float>) {
    guard let predicted = predict(installer, scratch: scratch) else { return }
    put("classified digit: class ")
    putU32(UInt32(predicted))
    put(" (row label ")
    putU32(digitLabel)
    put(")\n")
}

/// The class of the digit row through the active model; nil, with a line on the console, when there is none or it
/// cannot be read.
func predict(_ installer: TinyFlashModelInstaller<HostFileFlash>, scratch: UnsafeMutableBufferPointer<Float>) -> Int? {
    guard let record = installer.store.active(installer.flash) else {
        put("classify: no active model\n")
        return nil
    }
    do {
        let layout = try TinyModelLayout(
            flash: installer.flash,
            offset: installer.store.offset(ofSlot: record.slot),
            length: record.length
        )
        let input = UnsafeMutableBufferPointer(rebasing: scratch[0..<64])
        let work = UnsafeMutableBufferPointer(rebasing: scratch[64..<(64 + 2 * layout.widest)])
        let probabilities = UnsafeMutableBufferPointer(rebasing: scratch[(64 + 2 * layout.widest)...])
        for index in 0..<64 { input[index] = Float(digitRow[index]) / 16 }
        var meter = TinyQueryCounter()
        let prediction = try TinyInference.run(
            layout,
            flash: installer.flash,
            input: UnsafeBufferPointer(input),
            scratch: work,
            probabilities: probabilities,
            meter: &meter
        )
        return prediction.predictedClass
    } catch {
        put("classify: the installed model cannot be read\n")
        return nil
    }
}

/// One query of the application (a `q` byte on UART1; a sensor's or host's request on a real board): the digit row
/// classified with the active model, then metered (``TinyLeaf/meterInference()``: one query drawn from a grant and
/// stored) before the answer is given. Answered: `query answered: class C` on the console and the class as one ASCII
/// digit on UART1. Refused: `refused query: REASON` (`quota-exhausted`, `rate-limited`, `ledger-full`,
/// `storage-failed`, or `no-model`) and `x` on UART1, never a prediction.
@inline(never)
func answerQuery(_ leaf: UnsafeMutablePointer<QEMULeaf>, scratch: UnsafeMutableBufferPointer<Float>) {
    let reason: StaticString
    if let predicted = predict(leaf.pointee.installer, scratch: scratch) {
        switch leaf.pointee.meterInference() {
        case .answered, .unmetered:
            put("query answered: class ")
            putU32(UInt32(predicted))
            put("\n")
            return appUartWrite(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: predicted))
        case .quotaExhausted: reason = "quota-exhausted"
        case .rateLimited: reason = "rate-limited"
        case .ledgerFull: reason = "ledger-full"
        case .storageFailed: reason = "storage-failed"
        }
    } else {
        reason = "no-model"
    }
    put("refused query: ")
    put(reason)
    put("\n")
    appUartWrite(UInt8(ascii: "x"))
}

/// What the integrator logs of the meter: `quota grant S held, stack high-water mark: N bytes` when the highest grant
/// sequence held changes (a grant or revoke arrived, or was loaded at start), and `usage receipts acknowledged, stack
/// high-water mark: N bytes` when the last unsynced ledger entry was acknowledged by the coordinator (N: the deepest
/// stack so far).
struct MeterLog {
    var sequence: UInt64 = 0
    var unsynced = 0

    @inline(never)
    mutating func report(_ leaf: UnsafeMutablePointer<QEMULeaf>) {
        guard let meter = leaf.pointee.meter else { return }
        if meter.highestSequence != sequence {
            sequence = meter.highestSequence
            put("quota grant ")
            putU32(UInt32(truncatingIfNeeded: sequence))
            put(" held, stack high-water mark: ")
            putU32(stackUsed())
            put(" bytes\n")
        }
        if meter.unsyncedEntries != unsynced {
            if meter.unsyncedEntries == 0 {
                put("usage receipts acknowledged, stack high-water mark: ")
                putU32(stackUsed())
                put(" bytes\n")
            }
            unsynced = meter.unsyncedEntries
        }
    }
}

typealias QEMULeaf = TinyLeaf<QEMUPlatform, TinyFlashModelInstaller<HostFileFlash>>

@_cdecl("leaf_main")
func leafMain() -> Int32 {
    uartInit()
    appUartInit()
    guard let storage = startLeaf() else { return 2 }
    let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: 64 + 2 * Layout.widestLayer + 16)
    logStart(storage, scratch: scratch)
    var meterLog = MeterLog()
    while true {
        if appUartRead() == Int32(UInt8(ascii: "q")) { answerQuery(storage, scratch: scratch) }
        meterLog.report(storage)
        log(storage.pointee.poll(), storage, scratch: scratch)
    }
}

/// Prints `leaf ID started`, the kit's own state allocated at start-up (`kit state: leaf L bytes, installer work W
/// bytes`: the leaf value, built in place, and the installer's decoder state, ``TinyInstallerWork``; the RAM
/// budget counts both, not the buffers the integrator sizes) and the active model. Not inlined: the installer's
/// copy stays out of the main loop's frame.
@inline(never)
func logStart(_ storage: UnsafeMutablePointer<QEMULeaf>, scratch: UnsafeMutableBufferPointer<Float>) {
    put("leaf ")
    storage.pointee.withDeviceID { text($0) }
    put(" started\nkit state: leaf ")
    putU32(UInt32(MemoryLayout<QEMULeaf>.stride))
    put(" bytes, installer work ")
    putU32(UInt32(TinyInstallerWork.stateBytes))
    put(" bytes\n")
    reportActiveModel(storage.pointee.installer, scratch: scratch)
}

/// Prints what a poll did. Not inlined, as ``answerQuery(_:scratch:)`` and ``MeterLog/report(_:)``: the main
/// loop's own frame stays small, and it lies under every frame the leaf's poll takes (928 B when they were inlined).
@inline(never)
func log(_ event: TinyLeafEvent, _ storage: UnsafeMutablePointer<QEMULeaf>, scratch: UnsafeMutableBufferPointer<Float>)
{
    switch event {
    case .none, .connected: break
    case .welcomed(let enrolled):
        put(enrolled ? "enrolled" : "authenticated")
        put(", stack high-water mark: ")
        putU32(stackUsed())
        put(" bytes\n")
        repaintAfterMark()
    case .installed(let version):
        put("installed ")
        storage.pointee.installed.withFields { name, variant, _ in
            text(name)
            put(" v")
            putU32(UInt32(version))
            put(" ")
            text(variant)
        }
        #if MCU_QEMU_SLOTS_1MIB
        // The install's own mark: from its first slot page (HostFileFlash.erasePage) to the slot record's commit.
        put(", install stack high-water mark: ")
        putU32(stackUsed())
        put(" bytes")
        repaintAfterMark()
        #endif
        put("\n")
        reportActiveModel(storage.pointee.installer, scratch: scratch)
        put("stack high-water mark: ")
        putU32(stackUsed())
        put(" bytes, heap used at start-up: ")
        putU32(heapUsed())
        put(" bytes\n")
        repaintAfterMark()
    case .refused(let version, let code):
        put("refused v")
        putU32(UInt32(version))
        put(": ")
        put(code)
        put("\n")
        reportActiveModel(storage.pointee.installer, scratch: scratch)
    case .coordinatorError(let code):
        put("coordinator error ")
        putU32(UInt32(code))
        put("\n")
    case .disconnected: put("disconnected\n")
    }
}

/// In the `MCU_QEMU_SLOTS=1MiB` firmware (widemodel.sh), paints the stack again after a mark was printed (after the
/// welcome, after an install and after the check of the installed model), so that each mark is the deepest use since
/// the last: the `installed` line's from the install's first slot page (HostFileFlash.erasePage paints again there),
/// the next line's the check (SHA-256 and classification) alone. The largest mark printed is still the deepest since
/// start-up. Nothing in the other builds.
@inline(__always)
func repaintAfterMark() {
    #if MCU_QEMU_SLOTS_1MIB
    stackRepaint()
    #endif
}

/// Start-up: the flash, the host's arguments, the buffers (allocated once, never freed: nothing is allocated later)
/// and the leaf, built in place in start-up memory. Never inlined: its frame (the platform, installer and settings
/// values) is gone before the main loop runs. Nil (with a line on the console) when the leaf cannot start.
@inline(never)
func startLeaf() -> UnsafeMutablePointer<QEMULeaf>? {
    guard let flash = startFlash() else {
        put("firmware: the flash file cannot be opened, read or extended\n")
        return nil
    }
    var platform = QEMUPlatform(flash: flash)
    // Start-up allocations (never freed, nothing is allocated later): the host's arguments and the buffers.
    let token = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
    let tokenLength = Int(hostArgument(1, token.baseAddress, 128))
    let seedHex = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
    guard tokenLength > 0, hostArgument(2, seedHex.baseAddress, 64) == 64 else {
        put("firmware: pass TOKEN SEED_HEX64 with -append\n")
        return nil
    }
    func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c &- 87 : (c >= 65 ? c &- 55 : c &- 48) }
    for index in 0..<32 { seedHex[index] = nibble(seedHex[2 * index]) << 4 | nibble(seedHex[2 * index + 1]) }
    platform.seed = TinyDigest32(bytes: UnsafeRawBufferPointer(rebasing: seedHex[0..<32]))
    let receive = UnsafeMutableRawBufferPointer.allocate(byteCount: receiveBufferSize, alignment: 8)
    let send = UnsafeMutableRawBufferPointer.allocate(byteCount: sendBufferSize, alignment: 8)
    let page = UnsafeMutableRawBufferPointer.allocate(byteCount: Layout.pageSize, alignment: 8)
    guard let store = TinySlotStore(flash: flash, slotPages: Layout.slotPages) else { return nil }
    let installer = TinyFlashModelInstaller(flash: flash, store: store, pageBuffer: page)
    let name: StaticString = "leaf-qemu"
    let software: StaticString = "fleet-mcu-qemu/1"
    let settings = TinyLeafSettings(
        token: UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer(rebasing: token[0..<tokenLength])),
        name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
        software: UnsafeRawBufferPointer(start: software.utf8Start, count: software.utf8CodeUnitCount),
        ramBytes: 256 * 1024,
        flashBytes: UInt64(Layout.flashBytes)
    )
    let meterBuffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: TinyLeafMeter.bufferSize(grants: Layout.meterGrants),
        alignment: 8
    )
    guard let meter = TinyLeafMeter(buffer: meterBuffer, grants: Layout.meterGrants) else { return nil }
    // The leaf lives in start-up memory and is built there in place (no copy of it on the stack).
    let storage = UnsafeMutablePointer<QEMULeaf>.allocate(capacity: 1)
    guard
        TinyLeaf.start(
            in: storage,
            platform: platform,
            installer: installer,
            settings: settings,
            receiveBuffer: receive,
            sendBuffer: send,
            meter: meter
        )
    else {
        put("firmware: no identity\n")
        return nil
    }
    return storage
}
