// The leaf's flash and key storage under QEMU: RAM at 0x20200000 with flash's rules, mirrored to a host file through
// semihosting (hostfile.c) when the host names one, so that identity, enrolment and models survive a QEMU restart
// or a `kill -9`. TEST ONLY: a real board programs its flash; this file stands in for it.

@_extern(c, "host_file_open") func hostFileOpen(_ path: UnsafeRawPointer?, _ length: Int32) -> Int32
@_extern(c, "host_file_length") func hostFileLength(_ handle: Int32) -> Int32
@_extern(c, "host_file_read") func hostFileRead(
    _ handle: Int32,
    _ offset: Int32,
    _ into: UnsafeMutableRawPointer?,
    _ count: Int32
) -> Int32
@_extern(c, "host_file_write") func hostFileWrite(
    _ handle: Int32,
    _ offset: Int32,
    _ bytes: UnsafeRawPointer?,
    _ count: Int32
) -> Int32
@_extern(c, "_model_flash") var modelFlashStart: UInt8

/// The emulated flash: 4 KiB pages, two record pages and two slots of 32 pages (128 KiB each, the digits int8
/// model is 51,850 bytes), followed by one page of key storage, then the meter's records (one 1 KiB piece each).
/// Built with `MCU_QEMU_SLOTS=1MiB` (build.sh: `-D MCU_QEMU_SLOTS_1MIB`, `_model_flash` in QEMU's 16 MiB PSRAM at
/// 0x21000000), the slots are 256 pages (1 MiB each, for widemodel.sh's 1 MB model) and the inference scratch holds
/// layers up to 512 wide; nothing else changes.
enum Layout {
    static let pageSize = 4096
    #if MCU_QEMU_SLOTS_1MIB
    static let slotPages = 256
    /// The widest layer input or output the firmware's inference scratch holds (tools/wide-model.py's: 496).
    static let widestLayer = 512
    #else
    static let slotPages = 32
    /// The widest layer input or output the firmware's inference scratch holds (digits': 256).
    static let widestLayer = 256
    #endif
    static let pageCount = 2 + 2 * slotPages
    static let flashBytes = pageCount * pageSize
    /// Each record of TinyKeyStorage: one "written" byte (1), then up to 127 bytes; erased (0xFF) when never written.
    static let recordStride = 128
    /// Grant slots of the leaf's meter (TinyLeafMeter): two, so that a new grant is kept while the last one still
    /// answers (grants add up).
    static let meterGrants = 2
    /// Each meter record (0: counters and ledger, 1 … meterGrants: a grant): a "written" byte (1), its length (2
    /// bytes, little-endian), its bytes; one aligned piece of the host file, so one host write saves it whole.
    static let meterRecordStride = HostFileFlash.tearUnit
    static let meterRecordsOffset = flashBytes + pageSize
    /// Flash, the key storage page and the meter records after it: the size of the host file.
    static let totalBytes = meterRecordsOffset + (1 + meterGrants) * meterRecordStride
    static var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(mutating: &modelFlashStart) }
}

/// Flash in RAM with flash's rules (erased bytes read 0xFF, programming only clears bits), every change written
/// through to the host file, if any, before the call returns. Writes go to the file in aligned pieces of at most
/// ``tearUnit`` bytes, in order, one host `write()` each: a `kill -9` of QEMU leaves each piece written or not, so
/// at most one page is left partly erased or partly programmed, as a power cut leaves real flash.
struct HostFileFlash: TinyFlash {
    let base: UnsafeMutableRawPointer
    /// The semihosting handle of the host file, or -1: RAM only, erased at every start.
    let file: Int32
    static let tearUnit = 1024
    var pageSize: Int { Layout.pageSize }
    var pageCount: Int { Layout.pageCount }

    /// Erased flash and key storage, loaded from the host file at `path` when one is given (created, or extended
    /// with erased bytes, when it is missing or short). Nil when the file cannot be opened, read or extended.
    init?(base: UnsafeMutableRawPointer, path: UnsafeRawBufferPointer?) {
        self.base = base
        base.initializeMemory(as: UInt8.self, repeating: 0xFF, count: Layout.totalBytes)
        guard let path else {
            file = -1
            return
        }
        file = hostFileOpen(path.baseAddress, Int32(path.count))
        guard file >= 0 else { return nil }
        let stored = min(Int(hostFileLength(file)), Layout.totalBytes)
        guard stored >= 0, stored == 0 || hostFileRead(file, 0, base, Int32(stored)) == Int32(stored) else {
            return nil
        }
        // A short file (new, or cut while it was extended) grows with erased bytes, from its end.
        guard save(from: stored, count: Layout.totalBytes - stored) else { return nil }
    }

    mutating func erasePage(_ page: Int) -> Bool {
        guard page >= 0, page < pageCount else { return false }
        #if MCU_QEMU_SLOTS_1MIB
        // widemodel.sh: an install's mark (main.swift's `installed` line) counts from the first page it writes into a
        // slot (TinySlotStore: two record pages, then the slots), under the install's own frames.
        if page == 2 || page == 2 + Layout.slotPages { stackRepaint() }
        #endif
        (base + page * pageSize).initializeMemory(as: UInt8.self, repeating: 0xFF, count: pageSize)
        return save(from: page * pageSize, count: pageSize)
    }

    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard offset >= 0, offset + bytes.count <= Layout.flashBytes else { return false }
        for index in 0..<bytes.count {
            // Programming only clears bits, as NOR flash does.
            let old = (base + offset + index).load(as: UInt8.self)
            (base + offset + index).storeBytes(of: old & bytes[index], as: UInt8.self)
        }
        return save(from: offset, count: bytes.count)
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard offset >= 0, offset + buffer.count <= Layout.flashBytes else { return false }
        for index in 0..<buffer.count { buffer[index] = (base + offset + index).load(as: UInt8.self) }
        return true
    }

    /// Writes the RAM bytes `[offset, offset + count)` to the host file (nothing without one), in aligned pieces of
    /// at most ``tearUnit`` bytes. False when the host refused a write.
    func save(from offset: Int, count: Int) -> Bool {
        guard file >= 0 else { return true }
        var start = offset
        let end = offset + count
        while start < end {
            let pieceEnd = min(end, (start / Self.tearUnit + 1) * Self.tearUnit)
            guard hostFileWrite(file, Int32(start), base + start, Int32(pieceEnd - start)) == 1 else { return false }
            start = pieceEnd
        }
        return true
    }
}

/// The flash for this run: backed by the host file that the firmware's third argument names (`-append "TOKEN
/// SEED_HEX FILE"`), or RAM only without one. Nil when the file cannot be used.
func startFlash() -> HostFileFlash? {
    let path = UnsafeMutableRawBufferPointer.allocate(byteCount: 200, alignment: 8)
    let length = Int(hostArgument(3, path.baseAddress, 200))
    return HostFileFlash(base: Layout.base, path: length > 0 ? UnsafeRawBufferPointer(rebasing: path[0..<length]) : nil)
}
