import NIOCore

/// Field writers for message payloads. Formats are documented in `Protocol/SPEC.md`, section "Field encodings".
extension ByteBuffer {
    /// Writes an unsigned LEB128 varint (7 bits per byte, least significant group first).
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        writeInteger(UInt8(remaining))
    }

    @inlinable
    public mutating func writeVarint(_ value: Int) {
        writeVarint(UInt64(clamping: value))
    }

    /// Writes a varint length followed by the bytes.
    public mutating func writeLengthPrefixedBytes(_ bytes: [UInt8]) {
        writeVarint(bytes.count)
        writeBytes(bytes)
    }

    /// Writes a varint length followed by the string's UTF-8 bytes.
    public mutating func writeLengthPrefixedString(_ string: String) {
        writeVarint(string.utf8.count)
        writeString(string)
    }

    /// Writes a map as a varint count, then each key and value as strings, keys ascending by UTF-8 bytes.
    public mutating func writeStringMap(_ map: [String: String]) {
        writeVarint(map.count)
        for (key, value) in map.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            writeLengthPrefixedString(key)
            writeLengthPrefixedString(value)
        }
    }

    /// Writes a list as a varint count followed by each element.
    public mutating func writeList<Element>(_ list: [Element], _ writeElement: (inout ByteBuffer, Element) -> Void) {
        writeVarint(list.count)
        for element in list { writeElement(&self, element) }
    }
}

extension ByteBuffer {
    /// Writes an IEEE-754 binary64 in little-endian byte order (8 bytes).
    public mutating func writeFloat64(_ value: Double) {
        writeInteger(value.bitPattern, endianness: .little)
    }
}
