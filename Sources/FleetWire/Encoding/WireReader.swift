import NIOCore

/// Reads the fields of one message payload. Every read is bounded by the bytes left in the payload,
/// so no length or count a peer sends can make the reader allocate more than the frame it already holds.
public struct WireReader {
    @usableFromInline
    var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Bytes not read yet.
    public var remaining: Int { buffer.readableBytes }

    public mutating func readByte(_ field: String) throws -> UInt8 {
        guard let byte = buffer.readInteger(as: UInt8.self) else { throw FleetWireError.truncated(field) }
        return byte
    }

    public mutating func readVarint(_ field: String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte(field)
            if shift == 63 && byte > 1 { throw FleetWireError.malformedVarint }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // Canonical form only: a final zero group after the first byte is an over-long encoding.
                if byte == 0 && shift > 0 { throw FleetWireError.malformedVarint }
                return result
            }
            shift += 7
            if shift > 63 { throw FleetWireError.malformedVarint }
        }
    }

    /// Reads a varint that must fit `0...maximum`.
    public mutating func readBoundedInt(_ field: String, maximum: Int = Int(Int32.max)) throws -> Int {
        let value = try readVarint(field)
        guard value <= UInt64(maximum) else {
            throw FleetWireError.invalidValue(field, "\(value) exceeds \(maximum)")
        }
        return Int(value)
    }

    /// Reads a varint length; the length must fit in what is left of the payload.
    public mutating func readLength(_ field: String) throws -> Int {
        let length = try readVarint(field)
        guard length <= UInt64(remaining) else { throw FleetWireError.truncated(field) }
        return Int(length)
    }

    public mutating func readFixedBytes(_ count: Int, _ field: String) throws -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else { throw FleetWireError.truncated(field) }
        return bytes
    }

    public mutating func readLengthPrefixedBytes(_ field: String) throws -> [UInt8] {
        try readFixedBytes(try readLength(field), field)
    }

    public mutating func readLengthPrefixedString(_ field: String) throws -> String {
        let length = try readLength(field)
        guard let bytes = buffer.readBytes(length: length) else { throw FleetWireError.truncated(field) }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw FleetWireError.invalidUTF8(field) }
        return string
    }

    /// Reads a count for a list whose elements each take at least `minimumElementSize` bytes.
    public mutating func readCount(_ field: String, minimumElementSize: Int = 1) throws -> Int {
        let count = try readVarint(field)
        guard count <= UInt64(remaining / max(minimumElementSize, 1)) else { throw FleetWireError.truncated(field) }
        return Int(count)
    }

    public mutating func readStringMap(_ field: String) throws -> [String: String] {
        let count = try readCount(field, minimumElementSize: 2)
        var map: [String: String] = [:]
        map.reserveCapacity(count)
        var previousKey: String?
        for _ in 0..<count {
            let key = try readLengthPrefixedString(field + ".key")
            let value = try readLengthPrefixedString(field + ".value")
            // Keys are strictly ascending by UTF-8 bytes: no duplicates, one encoding per map.
            if let previousKey, !previousKey.utf8.lexicographicallyPrecedes(key.utf8) {
                throw FleetWireError.invalidValue(field, "keys not in ascending order at \"\(key)\"")
            }
            previousKey = key
            guard map.updateValue(value, forKey: key) == nil else {
                throw FleetWireError.invalidValue(field, "duplicate key \"\(key)\"")
            }
        }
        return map
    }

    public mutating func readList<Element>(
        _ field: String,
        minimumElementSize: Int = 1,
        _ readElement: (inout WireReader) throws -> Element
    ) throws -> [Element] {
        let count = try readCount(field, minimumElementSize: minimumElementSize)
        var list: [Element] = []
        list.reserveCapacity(count)
        for _ in 0..<count { list.append(try readElement(&self)) }
        return list
    }

    /// Reads the rest of the payload as raw bytes (zero-copy slice).
    public mutating func readRemainingSlice() -> ByteBuffer {
        buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer()
    }

    /// Throws if any bytes are left: messages have no trailing data.
    public func expectEnd() throws {
        guard remaining == 0 else { throw FleetWireError.trailingBytes(remaining) }
    }
}

extension WireReader {
    /// Reads an IEEE-754 binary64 in little-endian byte order; NaN and infinities are refused.
    public mutating func readFloat64(_ field: String) throws -> Double {
        let bits = try readFixedBytes(8, field).reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        let value = Double(bitPattern: bits)
        guard value.isFinite else { throw FleetWireError.invalidValue(field, "not a finite number") }
        return value
    }
}
