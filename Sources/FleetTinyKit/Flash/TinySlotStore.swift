/// Two model slots (A/B) and two record pages over a page-addressed flash (``TinyFlash``):
///
/// ```
/// page firstPage      record copy 0
/// page firstPage + 1  record copy 1
/// pages firstPage + 2 ..< firstPage + 2 + slotPages               slot 0
/// pages firstPage + 2 + slotPages ..< firstPage + 2 + 2 slotPages slot 1
/// ```
///
/// The active model is named by the valid ``TinySlotRecord`` with the higher sequence. An install writes only the
/// other slot, then ``commit(_:flash:)`` writes a record with the next sequence into the record page that does not
/// hold the current one (erase, then program). A power cut before that write completes leaves the old record
/// valid and its slot untouched; after it, the new record is valid and wins. Either way one model is active and
/// intact.
public struct TinySlotStore: Sendable {
    /// The first page of the store.
    public let firstPage: Int
    /// Pages per slot.
    public let slotPages: Int
    /// The flash's page size.
    public let pageSize: Int

    /// A store over pages `firstPage ..< firstPage + 2 + 2 * slotPages` of `flash`, or nil when they do not fit or
    /// a page cannot hold a record.
    public init?<Flash: TinyFlash>(flash: Flash, firstPage: Int = 0, slotPages: Int) {
        guard firstPage >= 0, slotPages > 0, flash.pageSize >= TinySlotRecord.size,
            firstPage + 2 + 2 * slotPages <= flash.pageCount
        else { return nil }
        self.firstPage = firstPage
        self.slotPages = slotPages
        self.pageSize = flash.pageSize
    }

    /// Bytes a slot holds: the largest model the store can install.
    public var slotCapacity: Int { slotPages * pageSize }

    /// The first page of `slot` (0 or 1).
    public func firstPage(ofSlot slot: Int) -> Int { firstPage + 2 + slot * slotPages }

    /// The flash offset of `slot`'s first byte.
    public func offset(ofSlot slot: Int) -> Int { firstPage(ofSlot: slot) * pageSize }

    /// The active model's record: the valid record with the higher sequence, nil when none is valid (nothing
    /// installed yet).
    @inline(never)  // called from several places: one copy
    public func active<Flash: TinyFlash>(_ flash: Flash) -> TinySlotRecord? {
        guard let (copy, _) = activeCopy(flash) else { return nil }
        var record = TinySlotRecord()
        let read = record.withUnsafeMutableRawBytes { raw in
            flash.read(at: (firstPage + copy) * pageSize, into: raw)
                && TinySlotRecord.isValid(UnsafeRawBufferPointer(raw))
        }
        return read ? record : nil
    }

    /// Makes `record` the active one: its slot must be the one the current record does not name (or any, when
    /// nothing is installed) and already hold the model. Returns false on a flash error (the old record then
    /// stays active unless the new one was completely written).
    public func commit<Flash: TinyFlash>(_ record: TinySlotRecord, flash: inout Flash) -> Bool {
        var next = record
        // The page that does not hold the active record, with the next sequence.
        let current = activeCopy(flash)
        let target = current.map { 1 - $0.copy } ?? 0
        next.sequence = current.map { $0.sequence &+ 1 } ?? 1
        let page = firstPage + target
        guard flash.erasePage(page) else { return false }
        return next.withSealedBytes { flash.write(at: page * pageSize, $0) }
    }

    /// The record copy (0 or 1) that names the active model, and its sequence: the valid copy with the higher
    /// sequence (copy 0 when they are equal); nil when neither is valid. The copies are checked one after the other
    /// in one 112-byte buffer: no record value is built (the deepest stack chains of the firmware, at start-up and
    /// at each install, went through here when two records were read and compared as values).
    @inline(never)
    private func activeCopy<Flash: TinyFlash>(_ flash: Flash) -> (copy: Int, sequence: UInt32)? {
        var raw = InlineArray<112, UInt8>(repeating: 0)
        return withUnsafeMutableBytes(of: &raw) { raw in
            func sequence(_ copy: Int) -> UInt32? {
                guard flash.read(at: (firstPage + copy) * pageSize, into: raw),
                    TinySlotRecord.isValid(UnsafeRawBufferPointer(raw))
                else { return nil }
                return TinySlotRecord.sequence(of: UnsafeRawBufferPointer(raw))
            }
            let first = sequence(0)
            let second = sequence(1)
            guard let first else { return second.map { (1, $0) } }
            guard let second, second > first else { return (0, first) }
            return (1, second)
        }
    }
}
