/// The kit's platform protocols over a C integrator's `tinyfleet_platform` (include/tinyfleet.h): each call goes
/// to the matching function pointer with the integrator's context. It holds a pointer to the table, which the
/// integrator keeps for the leaf's life; the leaf and its installer each hold one copy of this pointer.
public struct TinyCPlatform: TinyPlatform {
    let table: UnsafePointer<TinyCPlatformTable>

    /// Nil when an operation the kit needs is missing (NULL) or the flash has no pages.
    public init?(table: UnsafePointer<TinyCPlatformTable>) {
        guard table.pointee.isComplete else { return nil }
        self.table = table
    }

    private var context: TinyCContext { table.pointee.context }

    // TinyTransport
    public mutating func connect() -> Bool { table.pointee.connect!(context) }
    public mutating func disconnect() { table.pointee.disconnect!(context) }
    public mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        Int(table.pointee.receive!(context, buffer.baseAddress, UInt32(truncatingIfNeeded: buffer.count)))
    }
    public mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        table.pointee.send!(context, bytes.baseAddress, UInt32(truncatingIfNeeded: bytes.count))
    }

    // TinyClock
    public func monotonicMilliseconds() -> UInt64 { table.pointee.milliseconds!(context) }

    // TinyRandom
    public mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        table.pointee.fillRandom!(context, buffer.baseAddress, UInt32(truncatingIfNeeded: buffer.count))
    }

    // TinyKeyStorage
    public func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        table.pointee.loadRecord!(
            context,
            UInt32(record.rawValue),
            buffer.baseAddress,
            UInt32(truncatingIfNeeded: buffer.count)
        )
    }
    public mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool {
        table.pointee.storeRecord!(
            context,
            UInt32(record.rawValue),
            bytes.baseAddress,
            UInt32(truncatingIfNeeded: bytes.count)
        )
    }
    public func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let load = table.pointee.loadMeterRecord, index >= 0 else { return false }
        return load(
            context,
            UInt32(truncatingIfNeeded: index),
            buffer.baseAddress,
            UInt32(truncatingIfNeeded: buffer.count)
        )
    }
    public mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let store = table.pointee.storeMeterRecord, index >= 0 else { return false }
        return store(
            context,
            UInt32(truncatingIfNeeded: index),
            bytes.baseAddress,
            UInt32(truncatingIfNeeded: bytes.count)
        )
    }

    // TinyFlash
    public var pageSize: Int { Int(table.pointee.pageSize) }
    public var pageCount: Int { Int(table.pointee.pageCount) }
    public mutating func erasePage(_ page: Int) -> Bool {
        guard page >= 0, page < pageCount else { return false }
        return table.pointee.erasePage!(context, UInt32(page))
    }
    public mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard fits(offset, bytes.count) else { return false }
        return table.pointee.writeFlash!(context, UInt32(offset), bytes.baseAddress, UInt32(bytes.count))
    }
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard fits(offset, buffer.count) else { return false }
        return table.pointee.readFlash!(context, UInt32(offset), buffer.baseAddress, UInt32(buffer.count))
    }

    /// Whether `[offset, offset + count)` lies within the flash (the C side is given only ranges that do).
    private func fits(_ offset: Int, _ count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset + count <= pageSize * pageCount
    }
}
