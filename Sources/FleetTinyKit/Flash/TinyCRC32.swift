/// CRC-32 (ISO-HDLC, as zlib's `crc32`: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF),
/// streaming, bit by bit (no table): the checksum of FleetDelta patches (DELTA.md section 1) and of the slot
/// records.
public struct TinyCRC32: Sendable {
    private var state: UInt32 = 0xFFFF_FFFF

    /// An empty checksum.
    public init() {}

    /// Adds `bytes` after everything added so far.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            state ^= UInt32(byte)
            for _ in 0..<8 { state = state & 1 == 1 ? (state >> 1) ^ 0xEDB8_8320 : state >> 1 }
        }
    }

    /// The checksum of everything added so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }
}
