/// Reads the primitives of the canonical manifest encoding (Protocol/MANIFEST.md) from a buffer, strictly: every
/// length is checked against what remains and against its limit before it is used.
struct ManifestCursor {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    func slice(_ range: TinyByteRange) -> UnsafeRawBufferPointer { range.slice(of: bytes) }

    mutating func byte() throws(TinyManifestError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func raw(count: Int) throws(TinyManifestError) -> TinyByteRange {
        guard count <= remaining else { throw .truncated }
        defer { offset += count }
        return TinyByteRange(offset: offset, count: count)
    }

    mutating func expectDomainPrefix() throws(TinyManifestError) {
        let prefix: StaticString = "tinyfleet-v1 manifest\0"
        let range = try raw(count: prefix.utf8CodeUnitCount)
        guard range.equals(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), in: bytes)
        else { throw .wrongDomain }
    }

    /// A minimal LEB128 varint of at most 10 bytes, at most `maximum`.
    mutating func varint(maximum: UInt64) throws(TinyManifestError) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<10 {
            let next = try byte()
            if index == 9 && next > 1 { throw .malformedVarint }
            value |= UInt64(next & 0x7F) << UInt64(7 * index)
            if next & 0x80 == 0 {
                if index > 0 && next == 0 { throw .malformedVarint }
                guard value <= maximum else { throw .outOfRange }
                return value
            }
        }
        throw .malformedVarint
    }

    /// A varint length, then that many bytes of valid UTF-8; the length must lie in `bounds`.
    mutating func string(bytes bounds: ClosedRange<Int>) throws(TinyManifestError) -> TinyByteRange {
        let count = Int(try varint(maximum: UInt64(bounds.upperBound)))
        let range = try raw(count: count)
        guard count >= bounds.lowerBound else { throw .outOfRange }
        guard TinyUTF8.isValid(slice(range)) else { throw .invalidUTF8 }
        return range
    }

    /// A map of at most 64 entries, keys of at most 64 bytes in strictly increasing byte order, values of at most
    /// 512 bytes; returns the range of its whole encoding.
    mutating func map() throws(TinyManifestError) -> TinyByteRange {
        let start = offset
        let count = try varint(maximum: 64)
        var previous: TinyByteRange? = nil
        for _ in 0..<count {
            let key = try string(bytes: 0...64)
            if let previous, !precedes(previous, key) { throw .unsortedKeys }
            previous = key
            _ = try string(bytes: 0...512)
        }
        return TinyByteRange(offset: start, count: offset - start)
    }

    /// Whether `a`'s bytes sort strictly before `b`'s (byte-wise; a prefix sorts first).
    private func precedes(_ a: TinyByteRange, _ b: TinyByteRange) -> Bool {
        let (left, right) = (slice(a), slice(b))
        for index in 0..<min(a.count, b.count) where left[index] != right[index] { return left[index] < right[index] }
        return a.count < b.count
    }
}
