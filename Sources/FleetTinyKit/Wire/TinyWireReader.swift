/// Reads the fields of one payload held in a caller's buffer, without copying: byte fields come back as slices of
/// that buffer (valid while it is). Every read is bounded by the bytes left, so no length or count from the peer
/// can make the kit read or reserve more than the frame it already holds (SPEC.md 3.9).
public struct TinyWireReader {
    private let bytes: UnsafeRawBufferPointer
    /// Position of the next unread byte.
    public private(set) var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - position }

    public mutating func byte() throws(TinyWireError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    /// An unsigned LEB128 varint, shortest form only, at most 10 bytes (SPEC.md 3.1).
    public mutating func varint() throws(TinyWireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            if shift == 63 && next > 1 { throw .malformedVarint }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 {
                if next == 0 && shift > 0 { throw .malformedVarint }
                return result
            }
            shift += 7
            if shift > 63 { throw .malformedVarint }
        }
    }

    /// A varint that must fit `0...maximum`.
    @inline(never)  // called from several places: one copy
    public mutating func bounded(_ maximum: UInt64) throws(TinyWireError) -> UInt64 {
        let value = try varint()
        guard value <= maximum else { throw .invalidValue }
        return value
    }

    /// A varint in the `int31` range (versions, counts, durations).
    public mutating func int31() throws(TinyWireError) -> Int {
        Int(try bounded(UInt64(Int32.max)))
    }

    /// A varint in the `int63` range (sizes and offsets).
    @inline(never)  // called from several places: one copy
    public mutating func int63() throws(TinyWireError) -> Int {
        Int(truncatingIfNeeded: try bounded(UInt64(Int64.max)))
    }

    /// Exactly `count` bytes.
    public mutating func fixed(_ count: Int) throws(TinyWireError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw .truncated }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    /// A varint length, then that many bytes (SPEC.md 3.5).
    public mutating func lengthPrefixed() throws(TinyWireError) -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length <= UInt64(remaining) else { throw .truncated }
        return try fixed(Int(length))
    }

    /// A length-prefixed UTF-8 string (SPEC.md 3.4), as its bytes.
    public mutating func string() throws(TinyWireError) -> UnsafeRawBufferPointer {
        let text = try lengthPrefixed()
        guard TinyUTF8.isValid(text) else { throw .invalidUTF8 }
        return text
    }

    /// A list or map count whose elements take at least `minimumSize` bytes each (SPEC.md 3.8).
    public mutating func count(minimumSize: Int) throws(TinyWireError) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining / max(minimumSize, 1)) else { throw .truncated }
        return Int(value)
    }

    /// Reads a string-to-string map (SPEC.md 3.7) and checks it: valid UTF-8, keys strictly ascending. Returns the
    /// map's encoded bytes (count included) for ``TinyMapReader``.
    public mutating func map() throws(TinyWireError) -> UnsafeRawBufferPointer {
        let start = position
        let pairs = try count(minimumSize: 2)
        var previous: UnsafeRawBufferPointer? = nil
        for _ in 0..<pairs {
            let key = try string()
            _ = try string()
            if let previous, !TinyBytes.precedes(previous, key) { throw .unsortedMap }
            previous = key
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }

    /// Refuses trailing bytes.
    public func expectEnd() throws(TinyWireError) {
        guard remaining == 0 else { throw .trailingBytes }
    }
}

/// Walks a map that ``TinyWireReader/map()`` already checked.
public struct TinyMapReader {
    private var reader: TinyWireReader
    private var left: Int

    public init(_ encoded: UnsafeRawBufferPointer) {
        reader = TinyWireReader(encoded)
        left = (try? reader.count(minimumSize: 2)) ?? 0
    }

    /// The next pair, or nil at the end.
    public mutating func next() -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        guard left > 0, let key = try? reader.string(), let value = try? reader.string() else { return nil }
        left -= 1
        return (key, value)
    }
}
