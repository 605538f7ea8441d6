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
        let (first, second) = (self.record(copy: 0, flash), self.record(copy: 1, flash))
        guard let first else { return second }
        guard let second else { return first }
        return second.sequence > first.sequence ? second : first
    }

    /// Makes `record` the active one: its slot must be the one the current record does not name (or any, when
    /// nothing is installed) and already hold the model. Returns false on a flash error (the old record then
    /// stays active unless the new one was completely written).
    public func commit<Flash: TinyFlash>(_ record: TinySlotRecord, flash: inout Flash) -> Bool {
        let current = (self.record(copy: 0, flash), self.record(copy: 1, flash))
        var next = record
        var target = 0
        if let first = current.0, current.1.map({ $0.sequence < first.sequence }) ?? true {
            next.sequence = first.sequence &+ 1
            target = 1
        } else if let second = current.1 {
            next.sequence = second.sequence &+ 1
        } else {
            next.sequence = 1
        }
        let page = firstPage + target
        guard flash.erasePage(page) else { return false }
        return next.withSealedBytes { flash.write(at: page * pageSize, $0) }
    }

    private func record<Flash: TinyFlash>(copy: Int, _ flash: Flash) -> TinySlotRecord? {
        var raw = InlineArray<112, UInt8>(repeating: 0)
        let read = withUnsafeMutableBytes(of: &raw) { flash.read(at: (firstPage + copy) * pageSize, into: $0) }
        guard read else { return nil }
        return withUnsafeBytes(of: raw) { TinySlotRecord(raw: $0) }
    }
}
