/// Appends little-endian integers and LEB128 varints to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func writeVarint(_ value: Int) {
        precondition(value >= 0, "varints are unsigned")
        var remaining = UInt64(value)
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    mutating func writeUInt32LE(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func write<C: Collection>(_ other: C) where C.Element == UInt8 {
        bytes.append(contentsOf: other)
    }
}

/// Reads fields from a patch, throwing ``DeltaError/truncated`` on a short read.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }

    mutating func readByte() throws -> UInt8 {
        guard offset < end else { throw DeltaError.truncated.with("byte at \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt32LE() throws -> UInt32 {
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) {
            value |= UInt32(try readByte()) << UInt32(shift)
        }
        return value
    }

    /// Reads an unsigned LEB128 varint of at most 9 bytes (values below 2^63).
    mutating func readVarint() throws -> Int {
        var value: UInt64 = 0
        for index in 0..<9 {
            let byte = try readByte()
            value |= UInt64(byte & 0x7F) << UInt64(7 * index)
            if byte & 0x80 == 0 {
                guard value <= UInt64(Int.max) else { break }
                return Int(value)
            }
        }
        throw DeltaError.corrupt.with("varint too long")
    }

    /// Reads a varint that must not exceed `limit` (a length about to be allocated or sliced).
    mutating func readLength(atMost limit: Int) throws -> Int {
        let value = try readVarint()
        guard value <= limit else { throw DeltaError.corrupt.with("length \(value) over \(limit)") }
        return value
    }

    mutating func readBytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw DeltaError.truncated.with("\(count) bytes at \(offset)") }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }
}
