/// Pay-per-query on a leaf (Protocol/METERING.md, "Balance" and "Receipt"), in one buffer the integrator gives
/// (``bufferSize(grants:)`` bytes, for a table of `grants` grant slots): nothing is allocated.
///
/// - Grants: each signed grant is kept only when it verifies with the pinned release key and names this leaf; it
///   is stored in its own meter record (1 … N) before it counts.
/// - Inference: a model with any grant in the table is metered, and so is the leaf's model once a manifest the
///   coordinator wants on the leaf says `metered: true` (``setPushedMetered(_:storage:)``);
///   ``consume(model:version:online:monotonic:storage:)`` applies the newest grant's rate limit (a token bucket on
///   the monotonic clock), then draws one query from the valid grant that expires first (then the lowest
///   sequence), or, offline, from the newest grant's offline grace, and stores the counters (meter record 0)
///   **before** it returns `answered`: the caller answers only then, so a power cut can cost an answer but never
///   give one for free.
/// - Ledger: answered queries accumulate in at most ``pendingCapacity`` unsynced entries (one per grant, kind and
///   version in a row); ``nextReceipt(deviceID:seed:publicKey:storage:)`` seals the oldest (stored as sealed, so it
///   is signed again byte for byte after a restart) and signs it as the next receipt of the hash chain;
///   ``receiptAcknowledged(storage:)`` moves the chain head past it.
///
/// Record 0 (``stateSize(grants:)`` bytes, the kit's own layout, little-endian): format 1, sealed flag, entry
/// count, pushed-metered flag, next index, head hash, last time, the entries, then per slot the queries used and
/// the grace used.
public struct TinyLeafMeter {
    /// What ``consume(model:version:online:monotonic:storage:)`` decided.
    public enum Result: Equatable {
        /// No grant names the model: answer freely, nothing is billed.
        case unmetered
        /// One query was drawn and stored: answer. Kind 0 within a grant, 1 from the offline grace.
        case answered(kind: UInt8)
        /// Metered and no query left (or every grant expired or revoked, or none was ever granted for a model
        /// pushed `--metered`): refuse, do not answer.
        case quotaExhausted
        /// Over the newest grant's `ratePerSecond`: refuse now (nothing was drawn); the bucket refills at that
        /// rate.
        case rateLimited
        /// Every unsynced ledger entry is in use: refuse until receipts are acknowledged.
        case ledgerFull
        /// The counters could not be stored: refuse (nothing was drawn).
        case storageFailed
    }

    /// What became of a received grant.
    public enum GrantOutcome: Equatable {
        case kept
        /// Already held (same sequence).
        case duplicate
        case malformed
        case badSignature
        case otherDevice
        /// No free slot and none the leaf may reuse (spent, and not the last grant of its model).
        case tableFull
        case storageFailed
    }

    /// Unsynced ledger entries the state keeps.
    public static var pendingCapacity: Int { 16 }
    static var entrySize: Int { 32 }
    static var headerSize: Int { 52 }
    static var slotSize: Int { 2 + TinyQuotaGrant.maximumSize }

    /// Bytes of meter record 0 for a table of `grants` slots.
    public static func stateSize(grants: Int) -> Int {
        headerSize + pendingCapacity * entrySize + 16 * grants
    }

    /// Bytes of meter records 1 … N (a grant slot: 2-byte length, then the signed grant).
    public static var grantRecordSize: Int { slotSize }

    /// Bytes of RAM per slot for a rate bucket (milli-tokens, then the monotonic time of the last refill + 1).
    static var bucketSize: Int { 16 }

    /// The buffer a meter of `grants` slots needs: its state, its slots, a scratch area, a flag and a rate bucket
    /// per slot.
    public static func bufferSize(grants: Int) -> Int {
        2 * stateSize(grants: grants) + grants * (slotSize + 1 + bucketSize)
    }

    /// Grant slots in the table.
    public let grantCapacity: Int
    let buffer: UnsafeMutableRawBufferPointer
    /// Server time minus the monotonic clock, from the last helloAccept (SPEC.md 5.2); nil before one.
    private var clockOffset: Int64? = nil
    private var sealedHash = TinyDigest32()
    /// Record 0 exists on storage (loaded, or stored since): a grant record without it would count as spent.
    private var stateStored = false

    /// A meter over `buffer` (at least ``bufferSize(grants:)`` bytes, kept for the leaf's lifetime) with `grants`
    /// slots (1 … 255). Nil when the buffer is too small. Call ``load(from:releaseKey:deviceID:)`` next.
    public init?(buffer: UnsafeMutableRawBufferPointer, grants: Int) {
        guard grants >= 1, grants <= 255, buffer.count >= Self.bufferSize(grants: grants) else { return nil }
        self.buffer = buffer
        self.grantCapacity = grants
        for index in 0..<Self.bufferSize(grants: grants) { buffer[index] = 0 }
    }

    // MARK: - Loading

    /// Loads the counters and the grant slots, and verifies each grant again (`releaseKey` nil: none counts).
    /// A table whose counters are missing or unreadable while grants are present counts those grants as spent:
    /// a leaf that lost its counters does not answer again for free.
    public mutating func load<Storage: TinyKeyStorage>(
        from storage: Storage,
        releaseKey: UnsafeRawBufferPointer?,
        deviceID: UnsafeRawBufferPointer
    ) {
        // In three steps, none inlined: the frames that read the records are not under Ed25519's.
        let stateLoaded = loadRecords(from: storage)
        for slot in 0..<grantCapacity {
            verifiedFlags[slot] = isVerified(slot, releaseKey: releaseKey, deviceID: deviceID) ? 1 : 0
        }
        finishLoading(stateLoaded: stateLoaded)
    }

    /// Reads the counters and the grant slots (each unreadable or oversized one zeroed). True: the counters loaded.
    @inline(never)
    private mutating func loadRecords<Storage: TinyKeyStorage>(from storage: Storage) -> Bool {
        let stateLoaded = storage.loadMeterRecord(0, into: state) && isStateSound
        stateStored = stateLoaded
        if !stateLoaded { zero(state) }
        for slot in 0..<grantCapacity {
            let region = slotRegion(slot)
            if !storage.loadMeterRecord(1 + slot, into: region) || Int(u16(region, 0)) > TinyQuotaGrant.maximumSize {
                zero(region)
            }
        }
        return stateLoaded
    }

    /// Whether slot `slot` holds a grant signed by `releaseKey` (nil: none is) for `deviceID`.
    @inline(never)
    private func isVerified(
        _ slot: Int,
        releaseKey: UnsafeRawBufferPointer?,
        deviceID: UnsafeRawBufferPointer
    ) -> Bool {
        guard let grant = grant(slot), let releaseKey else { return false }
        return grant.check(releaseKey: releaseKey, deviceID: deviceID) == .valid
    }

    /// Marks the table loaded; grants found without their counters count as spent.
    @inline(never)
    private mutating func finishLoading(stateLoaded: Bool) {
        state[0] = 1
        guard !stateLoaded else { return }
        for slot in 0..<grantCapacity {
            guard let grant = grant(slot) else { continue }
            setCounter(slot, 0, grant.queries)
            setCounter(slot, 1, grant.offlineGrace)
        }
    }

    // MARK: - Grants

    /// Checks and keeps one signed grant (from quotaGrants, SPEC.md 15a.3). The signature is checked first, in a
    /// small frame: the frame that keeps the grant (about 1 KB on the Cortex-M4) is not under Ed25519's.
    public mutating func receive<Storage: TinyKeyStorage>(
        grant signed: UnsafeRawBufferPointer,
        releaseKey: UnsafeRawBufferPointer,
        deviceID: UnsafeRawBufferPointer,
        storage: inout Storage
    ) -> GrantOutcome {
        if let refusal = Self.refusal(of: signed, releaseKey: releaseKey, deviceID: deviceID) { return refusal }
        return keep(grant: signed, storage: &storage)
    }

    /// Why a signed grant is not kept (malformed, bad signature, another device), or nil when it is valid.
    @inline(never)
    private static func refusal(
        of signed: UnsafeRawBufferPointer,
        releaseKey: UnsafeRawBufferPointer,
        deviceID: UnsafeRawBufferPointer
    ) -> GrantOutcome? {
        guard let grant = try? TinyQuotaGrant(decoding: signed) else { return .malformed }
        switch grant.check(releaseKey: releaseKey, deviceID: deviceID) {
        case .valid: return nil
        case .badSignature: return .badSignature
        case .otherDevice: return .otherDevice
        }
    }

    /// Keeps a grant ``refusal(of:releaseKey:deviceID:)`` found valid: duplicates and a full table refused.
    @inline(never)
    private mutating func keep<Storage: TinyKeyStorage>(
        grant signed: UnsafeRawBufferPointer,
        storage: inout Storage
    ) -> GrantOutcome {
        guard let grant = try? TinyQuotaGrant(decoding: signed) else { return .malformed }
        for slot in 0..<grantCapacity where self.grant(slot)?.sequence == grant.sequence { return .duplicate }
        guard let slot = freeSlot(for: grant.model) else { return .tableFull }
        // The counters first: grant records without them would be taken for counters lost, and count as spent.
        if !stateStored {
            guard storage.storeMeterRecord(0, UnsafeRawBufferPointer(state)) else { return .storageFailed }
            stateStored = true
        }
        // Stored from the scratch area first: the slot in RAM changes only once the record is durable.
        let record = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Self.slotSize])
        zero(record)
        record.storeBytes(of: UInt16(signed.count).littleEndian, toByteOffset: 0, as: UInt16.self)
        UnsafeMutableRawBufferPointer(rebasing: record[2..<(2 + signed.count)]).copyMemory(from: signed)
        guard storage.storeMeterRecord(1 + slot, UnsafeRawBufferPointer(record)) else { return .storageFailed }
        slotRegion(slot).copyMemory(from: UnsafeRawBufferPointer(record))
        verifiedFlags[slot] = 1
        zero(bucket(slot))
        if counter(slot, 0) != 0 || counter(slot, 1) != 0 {
            setCounter(slot, 0, 0)
            setCounter(slot, 1, 0)
            _ = storage.storeMeterRecord(0, UnsafeRawBufferPointer(state))
        }
        return .kept
    }

    /// The highest grant sequence held (quotaSync's `afterSequence`; 0: none).
    public var highestSequence: UInt64 {
        var highest: UInt64 = 0
        for slot in 0..<grantCapacity { highest = max(highest, grant(slot)?.sequence ?? 0) }
        return highest
    }

    /// Whether the coordinator pushed the leaf's model `--metered` (the last manifest of it the leaf accepted said
    /// `metered: true`): metered even without a grant.
    public var isPushedMetered: Bool { state[3] == 1 }

    /// Records whether the manifest the coordinator wants on the leaf says `metered: true` (Protocol/METERING.md:
    /// a model pushed `--metered` is metered before any grant reaches the device). A change is stored in record 0
    /// before it returns true; false: not stored (kept in RAM, stored with the next counters).
    public mutating func setPushedMetered<Storage: TinyKeyStorage>(_ metered: Bool, storage: inout Storage) -> Bool {
        let flag: UInt8 = metered ? 1 : 0
        guard state[3] != flag else { return true }
        state[3] = flag
        guard storage.storeMeterRecord(0, UnsafeRawBufferPointer(state)) else { return false }
        stateStored = true
        return true
    }

    /// Whether any grant in the table names `model` (verified or not): its queries are metered.
    public func isMetered(_ model: UnsafeRawBufferPointer) -> Bool {
        for slot in 0..<grantCapacity where grant(slot).map({ TinyBytes.equal($0.model, model) }) == true {
            return true
        }
        return false
    }

    /// Queries left for `model` within its valid grants (grace not included) at `monotonic`.
    public func remaining(_ model: UnsafeRawBufferPointer, monotonic: UInt64) -> UInt64 {
        let now = wallTime(monotonic)
        var total: UInt64 = 0
        for slot in 0..<grantCapacity where counts(slot, model: model, at: now) {
            total += (grant(slot)?.queries ?? 0) &- counter(slot, 0)
        }
        return total
    }

    // MARK: - Inference

    /// Sets the wall clock from a helloAccept's `serverTimeMilliseconds` received at `monotonic`. Without it the
    /// meter's time is the last receipt's end (it never goes back).
    public mutating func setServerTime(_ serverMilliseconds: UInt64, monotonic: UInt64) {
        clockOffset = Int64(truncatingIfNeeded: serverMilliseconds) &- Int64(truncatingIfNeeded: monotonic)
    }

    /// Meters one inference of `model` at `version` (call it after computing the answer, before giving it).
    /// `online`: the leaf has a session with the coordinator (no offline grace then).
    public mutating func consume<Storage: TinyKeyStorage>(
        model: UnsafeRawBufferPointer,
        version: Int,
        online: Bool,
        monotonic: UInt64,
        storage: inout Storage
    ) -> Result {
        guard isPushedMetered || isMetered(model) else { return .unmetered }
        let now = wallTime(monotonic)
        let rate = takeToken(model: model, monotonic: monotonic)
        guard rate != .refused else { return .rateLimited }
        var kind: UInt8 = 0
        var chosen = quotaSlot(model: model, at: now) ?? -1
        if chosen < 0, !online, let grace = graceSlot(model: model) {
            chosen = grace
            kind = 1
        }
        guard chosen >= 0 else {
            giveBack(rate)
            return .quotaExhausted
        }
        let backup = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<state.count])
        backup.copyMemory(from: UnsafeRawBufferPointer(state))
        guard append(slot: chosen, kind: kind, version: UInt32(truncatingIfNeeded: version), now: now) else {
            giveBack(rate)
            return .ledgerFull
        }
        setCounter(chosen, Int(kind), counter(chosen, Int(kind)) + 1)
        setU64(state, 44, now)
        guard storage.storeMeterRecord(0, UnsafeRawBufferPointer(state)) else {
            state.copyMemory(from: UnsafeRawBufferPointer(backup))
            giveBack(rate)
            return .storageFailed
        }
        stateStored = true
        return .answered(kind: kind)
    }

    // MARK: - Ledger

    /// Entries not yet acknowledged by the coordinator.
    public var unsyncedEntries: Int { Int(state[2]) }

    /// Seals the oldest unsynced entry (stored first) and signs it as the next receipt of the chain; returns the
    /// signed receipt (valid until the meter is used again), or nil when there is none or storage failed. The
    /// receipt is built in ``sealOldest(deviceID:storage:)``, whose frame (about 1.5 KB on the Cortex-M4) is gone
    /// before Ed25519 signs it.
    public mutating func nextReceipt<Storage: TinyKeyStorage>(
        deviceID: UnsafeRawBufferPointer,
        seed: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer,
        storage: inout Storage
    ) -> UnsafeRawBufferPointer? {
        let length = sealOldest(deviceID: deviceID, storage: &storage)
        guard length > 0 else { return nil }
        TinyUsageReceipt.sign(length, in: scratch, seed: seed, publicKey: publicKey)
        let signed = UnsafeRawBufferPointer(rebasing: scratch[0..<(length + 64)])
        sealedHash = TinySHA256.hash(signed)
        return signed
    }

    /// Marks the oldest unsynced entry sealed (stored first) and writes its receipt's bytes, unsigned, into the
    /// scratch area: their length, or 0 when there is none, storage failed or the receipt cannot be encoded.
    @inline(never)
    private mutating func sealOldest<Storage: TinyKeyStorage>(
        deviceID: UnsafeRawBufferPointer,
        storage: inout Storage
    ) -> Int {
        guard state[2] > 0 else { return 0 }
        if state[1] == 0 {
            state[1] = 1
            guard storage.storeMeterRecord(0, UnsafeRawBufferPointer(state)) else {
                state[1] = 0
                return 0
            }
        }
        let entry = Self.headerSize
        guard let grant = grant(Int(state[entry])) else { return 0 }
        let receipt = TinyUsageReceipt(
            deviceID: deviceID,
            index: u64(state, 4),
            previous: TinyDigest32(bytes: UnsafeRawBufferPointer(rebasing: state[12..<44])),
            model: grant.model,
            version: UInt64(UInt32(littleEndian: state.loadUnaligned(fromByteOffset: entry + 4, as: UInt32.self))),
            grant: grant.sequence,
            kind: state[entry + 1],
            count: u64(state, entry + 8),
            windowStart: u64(state, entry + 16),
            windowEnd: u64(state, entry + 24)
        )
        return receipt.encode(into: scratch)
    }

    /// The coordinator acknowledged the receipt of the last ``nextReceipt(deviceID:seed:publicKey:storage:)``:
    /// the chain head moves past it. A failed store leaves it sealed on storage: after a restart it is sent again
    /// byte for byte, and the coordinator skips it as a duplicate.
    public mutating func receiptAcknowledged<Storage: TinyKeyStorage>(storage: inout Storage) {
        guard state[1] == 1, state[2] > 0 else { return }
        setU64(state, 4, u64(state, 4) + 1)
        sealedHash.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: state[12..<44]).copyMemory(from: $0) }
        let entries = Self.headerSize
        let count = Int(state[2])
        for index in 1..<max(count, 1) {
            let to = entries + (index - 1) * Self.entrySize
            let from = entries + index * Self.entrySize
            for offset in 0..<Self.entrySize { state[to + offset] = state[from + offset] }
        }
        zero(
            UnsafeMutableRawBufferPointer(
                rebasing: state[(entries + (count - 1) * Self.entrySize)..<(entries + count * Self.entrySize)]
            )
        )
        state[2] = UInt8(count - 1)
        state[1] = 0
        _ = storage.storeMeterRecord(0, UnsafeRawBufferPointer(state))
    }

    // MARK: - Private

    @inline(__always)
    var state: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.stateSize(grants: grantCapacity)])
    }

    @inline(__always)
    func slotRegion(_ slot: Int) -> UnsafeMutableRawBufferPointer {
        let start = Self.stateSize(grants: grantCapacity) + slot * Self.slotSize
        return UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Self.slotSize)])
    }

    @inline(__always)
    private var scratch: UnsafeMutableRawBufferPointer {
        let start = Self.stateSize(grants: grantCapacity) + grantCapacity * Self.slotSize
        return UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Self.stateSize(grants: grantCapacity))])
    }

    @inline(__always)
    var verifiedFlags: UnsafeMutableRawBufferPointer {
        let start = 2 * Self.stateSize(grants: grantCapacity) + grantCapacity * Self.slotSize
        return UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + grantCapacity)])
    }

    private var isStateSound: Bool {
        guard state[0] == 1, state[1] <= 1, Int(state[2]) <= Self.pendingCapacity, state[1] <= state[2], state[3] <= 1
        else {
            return false
        }
        for index in 0..<Int(state[2]) where Int(state[Self.headerSize + index * Self.entrySize]) >= grantCapacity {
            return false
        }
        return true
    }

    /// Adds one query to the newest unsealed entry when it matches, else starts an entry. False when full.
    private mutating func append(slot: Int, kind: UInt8, version: UInt32, now: UInt64) -> Bool {
        let count = Int(state[2])
        let last = Self.headerSize + (count - 1) * Self.entrySize
        if count > Int(state[1]), Int(state[last]) == slot, state[last + 1] == kind,
            UInt32(littleEndian: state.loadUnaligned(fromByteOffset: last + 4, as: UInt32.self)) == version
        {
            setU64(state, last + 8, u64(state, last + 8) + 1)
            setU64(state, last + 24, now)
            return true
        }
        guard count < Self.pendingCapacity else { return false }
        let entry = Self.headerSize + count * Self.entrySize
        state[entry] = UInt8(slot)
        state[entry + 1] = kind
        state.storeBytes(of: version.littleEndian, toByteOffset: entry + 4, as: UInt32.self)
        setU64(state, entry + 8, 1)
        setU64(state, entry + 16, now)
        setU64(state, entry + 24, now)
        state[2] = UInt8(count + 1)
        return true
    }

    /// Milliseconds since the epoch: the server's clock carried on by the monotonic one, never before the last
    /// receipt's end (0 before any helloAccept and any receipt).
    private func wallTime(_ monotonic: UInt64) -> UInt64 {
        let last = u64(state, 44)
        guard let offset = clockOffset else { return last }
        let estimate = Int64(truncatingIfNeeded: monotonic) &+ offset
        return max(last, estimate > 0 ? UInt64(estimate) : 0)
    }

    /// Counter `which` (0 queries used, 1 grace used) of `slot`.
    @inline(__always)
    func counter(_ slot: Int, _ which: Int) -> UInt64 {
        u64(state, Self.headerSize + Self.pendingCapacity * Self.entrySize + slot * 16 + which * 8)
    }

    @inline(__always)
    private func setCounter(_ slot: Int, _ which: Int, _ value: UInt64) {
        setU64(state, Self.headerSize + Self.pendingCapacity * Self.entrySize + slot * 16 + which * 8, value)
    }

    @inline(__always)
    func u64(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    func u16(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func setU64(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt64) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    @inline(__always)
    private func zero(_ bytes: UnsafeMutableRawBufferPointer) {
        for index in 0..<bytes.count { bytes[index] = 0 }
    }
}
