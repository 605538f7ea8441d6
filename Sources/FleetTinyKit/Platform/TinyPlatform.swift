/// The platform interface an integrator implements for FleetTinyKit: one type conforming to ``TinyPlatform``, used
/// as a generic parameter (specialised, no existentials). Every call returns at once: the kit polls, it never waits.
///
/// The parts are separate protocols so that a piece of the kit asks only for what it uses (the installer needs
/// ``TinyFlash``, the session the whole platform).
public protocol TinyPlatform: TinyTransport, TinyClock, TinyRandom, TinyKeyStorage, TinyFlash {}

/// A byte stream to the gateway: a UART, a BLE characteristic, or TCP on a host.
public protocol TinyTransport {
    /// Opens the link (a TCP connect; a UART that is always open returns true). False: not now, try again later.
    mutating func connect() -> Bool
    /// Closes the link; the next ``connect()`` starts a new connection.
    mutating func disconnect()
    /// Copies the bytes that have arrived, up to `buffer.count`, into `buffer` without waiting.
    /// Returns how many (0 when none arrived), or -1 when the link has closed.
    mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int
    /// Queues all of `bytes` for sending. False when the link has closed or cannot take them.
    mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// A monotonic clock.
public protocol TinyClock {
    /// Milliseconds since an arbitrary start; never decreases.
    func monotonicMilliseconds() -> UInt64
}

/// A source of unpredictable bytes (a hardware TRNG on a microcontroller), used for the identity key.
public protocol TinyRandom {
    /// Fills `buffer` with random bytes. False when the source failed (the kit then does not generate a key).
    mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool
}

/// The records the kit keeps across restarts, each a few bytes (``TinyRecord`` names them and their sizes).
public protocol TinyKeyStorage {
    /// Copies the stored record into `buffer` (sized ``TinyRecord/size``). False when it was never written.
    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool
    /// Stores `bytes` (``TinyRecord/size`` of them) durably before it returns: true once they would survive a
    /// power cut.
    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool
    /// Copies meter record `index` (``TinyLeafMeter``: 0 its counters and ledger head, 1 … N its grant slots) into
    /// `buffer` (sized as stored). False when it was never written. The default has no meter storage.
    func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool
    /// Stores meter record `index` durably and atomically (the old bytes or the new, never a mix) before it
    /// returns true. The default returns false: a leaf without meter storage answers no metered query.
    mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool
}

extension TinyKeyStorage {
    public func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool { false }
    public mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool { false }
}

/// The persistent records of the kit.
public enum TinyRecord: UInt8, CaseIterable {
    /// The 32-byte Ed25519 seed of the device's identity key. Written before the first `enrol` is sent.
    case identitySeed = 1
    /// One byte, 1 once a `welcome` answered this key's enrolment (from then on the leaf authenticates).
    case enrolled = 2
    /// The coordinator's 32-byte release public key, pinned from the first `welcome` that carries one.
    case releaseKey = 3
    /// The installed model (``TinyInstalledModel``'s encoding), written when an install completes.
    case installedModel = 4

    /// The record's size in bytes.
    public var size: Int {
        switch self {
        case .identitySeed, .releaseKey: 32
        case .enrolled: 1
        case .installedModel: TinyInstalledModel.recordSize
        }
    }
}

/// Flash memory addressed by byte offset, erased by page (an erased byte reads `0xFF`).
public protocol TinyFlash {
    /// The erase unit in bytes.
    var pageSize: Int { get }
    /// How many pages the flash given to the kit has.
    var pageCount: Int { get }
    /// Erases one page (0-based). False on a hardware error.
    mutating func erasePage(_ page: Int) -> Bool
    /// Programs `bytes` at `offset` (into erased memory). False on a hardware error or out of range.
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool
    /// Reads `buffer.count` bytes from `offset`. False when out of range.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool
}
