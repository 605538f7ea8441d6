/// Installs a model into the inactive slot of a ``TinySlotStore`` from payload chunks fed in order (any sizes),
/// then verifies its SHA-256 against the manifest's and switches slots. RAM: this value (about 5 KB, whatever the
/// model size) plus the integrator's page buffer.
///
/// - A **full** payload (the weights file itself) is copied page by page.
/// - A **delta** is a FleetDelta stream-mode patch (DELTA.md section 12) against the active model: applied as it
///   arrives, reading the old model from the active slot at random offsets, writing the new one page by page.
///
/// Within a session a transfer resumes from ``nextOffset`` (chunks may overlap what was fed). After a restart the
/// install starts again from offset 0: its state lives only in RAM, and until ``commit`` the old model stays active.
/// Any error leaves the old model active; the partly written slot is simply overwritten by the next install.
public struct TinyInstaller {
    /// How the payload encodes the model.
    public enum Encoding: Sendable {
        /// The weights file itself.
        case full
        /// The weights file compressed with zlib (RFC 1950), as SPEC.md 11.3's full payload (`encoding 00`).
        case zlib
        /// A FleetDelta stream-mode patch against the active model.
        case delta
    }

    /// The largest model the installer accepts (its column sums are 32-bit).
    public static let maximumModelSize = 8 << 20

    enum Phase {
        case idle
        case header
        case operations
        case failed(TinyInstallError)
        case installed
    }

    private let pageBuffer: UnsafeMutableRawBufferPointer
    var phase = Phase.idle
    private var encoding = Encoding.full
    private var pending: TinySlotRecord? = nil
    private var store: TinySlotStore? = nil
    private var payloadSize = 0
    private var received = 0

    // Where the new model goes and where the old one is.
    private var targetFirstPage = 0
    var oldOffset = 0
    var oldLength = 0
    private var oldChecksum: UInt32 = 0

    // The page being filled.
    var fill = 0
    private var pagesWritten = 0
    var produced = 0
    var outputSize = 0
    private var newChecksum = TinyCRC32()

    var declaredNewChecksum: UInt32 = 0
    /// The decoders' state (stream mode or zlib, about 5 KB), allocated once with the installer.
    let work = TinyInstallerWork()

    /// An installer that uses `pageBuffer` (at least one flash page) for every page it writes or reads.
    public init(pageBuffer: UnsafeMutableRawBufferPointer) {
        self.pageBuffer = pageBuffer
    }

    /// Payload bytes accepted so far: where a resumed transfer continues.
    public var nextOffset: Int { received }

    /// True once the model is installed and active.
    public var isInstalled: Bool {
        if case .installed = phase { return true }
        return false
    }

    /// The error that stopped the install, if one did.
    public var failure: TinyInstallError? {
        if case .failed(let error) = phase { return error }
        return nil
    }

    /// Starts installing `model` (its name, variant, version, length and SHA-256 from the verified manifest) from a
    /// payload of `payloadSize` bytes into the slot the active record does not name.
    public mutating func begin<Flash: TinyFlash>(
        store: TinySlotStore,
        flash: inout Flash,
        encoding: Encoding,
        payloadSize: Int,
        model: TinySlotRecord
    ) throws(TinyInstallError) {
        phase = .idle
        guard pageBuffer.count >= store.pageSize else { throw fail(.pageBufferTooSmall) }
        guard model.length <= store.slotCapacity, model.length <= Self.maximumModelSize, payloadSize >= 0 else {
            throw fail(.tooLarge)
        }
        let active = store.active(flash)
        var record = model
        record.slot = active.map { 1 - $0.slot } ?? 0
        self.store = store
        self.encoding = encoding
        self.payloadSize = payloadSize
        pending = record
        received = 0
        targetFirstPage = store.firstPage(ofSlot: record.slot)
        oldOffset = active.map { store.offset(ofSlot: $0.slot) } ?? 0
        oldLength = active?.length ?? 0
        fill = 0
        pagesWritten = 0
        produced = 0
        newChecksum = TinyCRC32()
        // Reset in place: assigning fresh values would build multi-kilobyte temporaries on the stack.
        work.prepare(for: encoding)
        switch encoding {
        case .full:
            guard payloadSize == model.length else { throw fail(.tooLarge) }
            outputSize = payloadSize
            phase = .operations
        case .zlib:
            outputSize = model.length
            phase = .operations
        case .delta:
            do throws(TinyInstallError) {
                oldChecksum = try Self.checksum(pageBuffer, offset: oldOffset, length: oldLength, flash)
            } catch {
                throw fail(error)
            }
            outputSize = 0
            phase = .header
        }
        if payloadSize == 0 { try advance(&flash) }
    }

    /// Feeds payload bytes `[offset, offset + bytes.count)`. Bytes before ``nextOffset`` are skipped; a chunk that
    /// starts after it is refused with ``TinyInstallError/gap``. Returns true when the model is installed and
    /// active (after the last byte).
    @discardableResult
    public mutating func feed<Flash: TinyFlash>(
        _ bytes: UnsafeRawBufferPointer,
        at offset: Int,
        flash: inout Flash
    ) throws(TinyInstallError) -> Bool {
        switch phase {
        case .header, .operations: break
        case .installed, .idle, .failed: throw TinyInstallError.notInstalling
        }
        guard offset >= 0, offset <= received else { throw TinyInstallError.gap }
        let skip = received - offset
        guard skip < bytes.count else { return false }
        guard offset + bytes.count <= payloadSize else { throw fail(.tooManyBytes) }
        do throws(TinyInstallError) {
            try consume(bytes, from: skip, &flash)
        } catch {
            throw fail(error)
        }
        return isInstalled
    }

    private mutating func consume<Flash: TinyFlash>(
        _ bytes: UnsafeRawBufferPointer,
        from skip: Int,
        _ flash: inout Flash
    ) throws(TinyInstallError) {
        var index = skip
        while index < bytes.count {
            switch encoding {
            case .full:
                let count = min(bytes.count - index, pageSize - fill)
                pageBuffer.baseAddress.unsafelyUnwrapped.advanced(by: fill).copyMemory(
                    from: bytes.baseAddress.unsafelyUnwrapped.advanced(by: index),
                    byteCount: count
                )
                fill += count
                produced += count
                index += count
                received += count
                if fill == pageSize { try flushPage(&flash) }
            case .delta, .zlib:
                while index < bytes.count, work.input.pointee.free > 0 {
                    work.input.pointee.push(bytes[index])
                    index += 1
                    received += 1
                }
                try advance(&flash)
            }
        }
        if received == payloadSize, encoding == .full { try advance(&flash) }
    }

    var pageSize: Int { store?.pageSize ?? 0 }
    var slotCapacity: Int { store?.slotCapacity ?? 0 }
    var targetOffset: Int { targetFirstPage * pageSize }
    var expectedLength: Int { pending?.length ?? 0 }
    var oldChecksumValue: UInt32 { oldChecksum }

    var inputComplete: Bool { received == payloadSize }

    /// Decodes what the buffered input allows; finishes the install when the output and the input are complete.
    private mutating func advance<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        do throws(TinyInstallError) {
            if encoding == .delta { try decodeAvailable(&flash) }
            if encoding == .zlib { try inflateAvailable(&flash) }
            if encoding == .zlib, work.inflate.pointee.phase == .done, produced != outputSize { throw .corrupt }
            guard inputComplete, case .operations = phase, produced == outputSize else { return }
            if encoding == .zlib, work.inflate.pointee.phase != .done { return }
            try finish(&flash)
        } catch {
            throw fail(error)
        }
    }

    /// Writes the last page, checks the CRC-32 (delta) and the SHA-256 of the slot as read back, and commits.
    private mutating func finish<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        if fill > 0 { try flushPage(&flash) }
        if encoding == .delta, newChecksum.value != declaredNewChecksum { throw .checksumMismatch }
        guard let store, var record = pending else { throw .notInstalling }
        var hasher = TinySHA256()
        var position = 0
        while position < outputSize {
            let count = min(pageSize, outputSize - position)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: pageBuffer[0..<count])
            guard flash.read(at: targetFirstPage * pageSize + position, into: chunk) else { throw .flash }
            hasher.update(UnsafeRawBufferPointer(chunk))
            position += count
        }
        guard hasher.finalize() == record.sha256 else { throw .digestMismatch }
        record.sequence = 0
        guard store.commit(record, flash: &flash) else { throw .flash }
        phase = .installed
    }

    /// Erases and programs the next page of the target slot with the page buffer (padded with 0xFF).
    mutating func flushPage<Flash: TinyFlash>(_ flash: inout Flash) throws(TinyInstallError) {
        let page = targetFirstPage + pagesWritten
        newChecksum.update(UnsafeRawBufferPointer(rebasing: pageBuffer[0..<fill]))
        for index in fill..<pageSize { pageBuffer[index] = 0xFF }
        guard flash.erasePage(page),
            flash.write(at: page * pageSize, UnsafeRawBufferPointer(rebasing: pageBuffer[0..<pageSize]))
        else { throw .flash }
        pagesWritten += 1
        fill = 0
        if encoding == .delta { work.operation.pointee.oldLoaded = 0 }
    }

    /// Reads `count` old-model bytes from `position` into the page buffer at `fill`.
    mutating func readOld<Flash: TinyFlash>(
        at position: Int,
        count: Int,
        _ flash: inout Flash
    ) throws(TinyInstallError) {
        let destination = UnsafeMutableRawBufferPointer(rebasing: pageBuffer[fill..<(fill + count)])
        guard flash.read(at: oldOffset + position, into: destination) else { throw .flash }
    }

    /// Byte `index` of the page buffer.
    subscript(page index: Int) -> UInt8 {
        get { pageBuffer[index] }
        set { pageBuffer[index] = newValue }
    }

    /// CRC-32 of `length` flash bytes from `offset`, read through `pageBuffer` (static: a method would borrow the
    /// whole installer, which the compiler copies onto the stack).
    private static func checksum<Flash: TinyFlash>(
        _ pageBuffer: UnsafeMutableRawBufferPointer,
        offset: Int,
        length: Int,
        _ flash: Flash
    ) throws(TinyInstallError) -> UInt32 {
        var crc = TinyCRC32()
        var position = 0
        while position < length {
            let count = min(pageBuffer.count, length - position)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: pageBuffer[0..<count])
            guard flash.read(at: offset + position, into: chunk) else { throw .flash }
            crc.update(UnsafeRawBufferPointer(chunk))
            position += count
        }
        return crc.value
    }

    private mutating func fail(_ error: TinyInstallError) -> TinyInstallError {
        phase = .failed(error)
        return error
    }
}
