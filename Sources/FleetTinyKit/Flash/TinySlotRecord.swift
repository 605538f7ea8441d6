/// The record that names the active model slot: which slot, the model's name, variant, version, length and
/// SHA-256, a sequence number and a CRC-32. ``TinySlotStore`` keeps two copies in two pages and trusts the valid
/// one with the higher sequence, so a power cut while one is written leaves the other.
///
/// Layout (112 bytes, little-endian):
/// ```
/// 0  "TFS1"  4 sequence  8 slot  9 name length  10 variant length  11 0  12 version  16 model length
/// 20 SHA-256 (32)  52 name (40)  92 variant (16)  108 CRC-32 of bytes 0 ..< 108
/// ```
public struct TinySlotRecord: Sendable {
    /// Bytes of a record in flash.
    public static let size = 112
    /// Longest model name a record holds.
    public static let maximumNameLength = 40
    /// Longest variant name a record holds.
    public static let maximumVariantLength = 16

    private static let magic: UInt32 = 0x3153_4654  // "TFS1" little-endian
    private static let checkedSize = 108

    private(set) var bytes = InlineArray<112, UInt8>(repeating: 0)

    /// A record for a model, or nil when the name or variant is too long.
    public init?(
        name: UnsafeRawBufferPointer,
        variant: UnsafeRawBufferPointer,
        version: UInt32,
        length: Int,
        sha256: TinyDigest32
    ) {
        guard name.count <= Self.maximumNameLength, variant.count <= Self.maximumVariantLength,
            length >= 0, UInt64(length) <= UInt64(Int32.max)
        else { return nil }
        store(Self.magic, at: 0)
        bytes[9] = UInt8(name.count)
        bytes[10] = UInt8(variant.count)
        store(version, at: 12)
        store(UInt32(length), at: 16)
        sha256.withUnsafeBytes { digest in
            for index in 0..<32 { bytes[20 + index] = digest[index] }
        }
        for index in 0..<name.count { bytes[52 + index] = name[index] }
        for index in 0..<variant.count { bytes[92 + index] = variant[index] }
    }

    /// Reads a record from `raw` (``size`` bytes); nil when it is not a valid record (erased, torn, corrupt).
    init?(raw: UnsafeRawBufferPointer) {
        guard Self.isValid(raw) else { return nil }
        withUnsafeMutableBytes(of: &bytes) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<Self.size])) }
    }

    /// A record of zeros (not valid), to read one into in place (``withUnsafeMutableRawBytes(_:)``).
    init() {}

    /// True when `raw` starts with a valid record (magic, CRC-32, slot, lengths). Checked where the bytes are, so
    /// that reading the two copies of a ``TinySlotStore`` builds no record values on the stack.
    static func isValid(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard raw.count >= size else { return false }
        var crc = TinyCRC32()
        crc.update(UnsafeRawBufferPointer(rebasing: raw[0..<checkedSize]))
        return load(raw, at: 0) == magic && load(raw, at: checkedSize) == crc.value && raw[8] <= 1 && raw[11] == 0
            && load(raw, at: 16) <= UInt32(Int32.max)
            && Int(raw[9]) <= maximumNameLength && Int(raw[10]) <= maximumVariantLength
    }

    /// The sequence of the valid record that `raw` starts with (``isValid(_:)``).
    static func sequence(of raw: UnsafeRawBufferPointer) -> UInt32 { load(raw, at: 4) }

    /// Calls `body` with the record's own bytes, to read a record into in place. Check them with ``isValid(_:)``.
    mutating func withUnsafeMutableRawBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        withUnsafeMutableBytes(of: &bytes) { body($0) }
    }

    /// Orders the writes of the record: higher is newer.
    public internal(set) var sequence: UInt32 {
        get { load(at: 4) }
        set { store(newValue, at: 4) }
    }
    /// The slot (0 or 1) that holds the model.
    public internal(set) var slot: Int {
        get { Int(bytes[8]) }
        set { bytes[8] = UInt8(newValue) }
    }
    /// The model's version.
    public var version: UInt32 { load(at: 12) }
    /// The model file's length in bytes.
    public var length: Int { Int(load(at: 16)) }
    /// The model file's SHA-256.
    public var sha256: TinyDigest32 {
        withUnsafeBytes(of: bytes) { TinyDigest32(bytes: UnsafeRawBufferPointer(rebasing: $0[20..<52])) }
    }

    /// Calls `body` with the model's name.
    public func withName<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body(UnsafeRawBufferPointer(rebasing: $0[52..<(52 + Int(bytes[9]))])) }
    }

    /// Calls `body` with the model's variant.
    public func withVariant<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body(UnsafeRawBufferPointer(rebasing: $0[92..<(92 + Int(bytes[10]))])) }
    }

    /// Seals the record (its CRC) and calls `body` with its bytes.
    mutating func withSealedBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeMutableBytes(of: &bytes) { raw in
            var crc = TinyCRC32()
            crc.update(UnsafeRawBufferPointer(rebasing: raw[0..<Self.checkedSize]))
            raw.storeBytes(of: crc.value.littleEndian, toByteOffset: Self.checkedSize, as: UInt32.self)
            return body(UnsafeRawBufferPointer(raw))
        }
    }

    private static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3])
            << 24
    }

    private func load(at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    private mutating func store(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
    }
}
