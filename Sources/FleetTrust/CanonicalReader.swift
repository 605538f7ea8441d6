/// Reads the primitives written by ``CanonicalWriter``, strictly: every length is checked against the bytes that
/// remain and against a caller-given maximum, varints must be minimal, map keys sorted and unique, strings valid
/// UTF-8. Decoding then re-encoding therefore gives back the same bytes, which is what a signature covers.
struct CanonicalReader {
    private let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    mutating func expectPrefix(_ prefix: String) throws(TrustError) {
        let expected = Array(prefix.utf8)
        guard try raw(count: expected.count) == expected else {
            throw .malformed("wrong domain prefix, expected \(prefix.debugDescription)")
        }
    }

    mutating func byte() throws(TrustError) -> UInt8 {
        guard remaining >= 1 else { throw .malformed("truncated at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func raw(count: Int) throws(TrustError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw .malformed("length \(count) exceeds the \(remaining) bytes left at \(offset)")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A minimal LEB128 varint of at most 10 bytes that fits in 64 bits and is at most `maximum`.
    mutating func varint(maximum: UInt64 = .max) throws(TrustError) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<10 {
            let next = try byte()
            let payload = UInt64(next & 0x7F)
            if index == 9 && next > 1 { throw .malformed("varint overflows 64 bits") }
            value |= payload << (7 * UInt64(index))
            if next & 0x80 == 0 {
                if index > 0 && next == 0 { throw .malformed("non-minimal varint") }
                guard value <= maximum else { throw .malformed("value \(value) above maximum \(maximum)") }
                return value
            }
        }
        throw .malformed("varint longer than 10 bytes")
    }

    /// A varint used as a length or count: at most `maximum`.
    mutating func length(maximum: Int) throws(TrustError) -> Int {
        Int(try varint(maximum: UInt64(maximum)))
    }

    mutating func string(maxBytes: Int) throws(TrustError) -> String {
        let count = try length(maximum: maxBytes)
        let utf8 = try raw(count: count)
        let value = String(decoding: utf8, as: UTF8.self)
        guard Array(value.utf8) == utf8 else { throw .malformed("string is not valid UTF-8") }
        return value
    }

    mutating func map(maxEntries: Int, maxKeyBytes: Int, maxValueBytes: Int) throws(TrustError) -> [String: String] {
        let count = try length(maximum: maxEntries)
        var result: [String: String] = [:]
        var previousKey: [UInt8]? = nil
        for _ in 0..<count {
            let key = try string(maxBytes: maxKeyBytes)
            let keyBytes = Array(key.utf8)
            if let previousKey, !previousKey.lexicographicallyPrecedes(keyBytes) {
                throw .malformed("map keys not sorted or not unique at \(key.debugDescription)")
            }
            previousKey = keyBytes
            result[key] = try string(maxBytes: maxValueBytes)
        }
        // Distinct UTF-8 keys can still be equal `String`s (canonical equivalence); refuse rather than merge.
        guard result.count == count else { throw .malformed("map keys equal under Unicode canonical equivalence") }
        return result
    }

    mutating func optionalFlag() throws(TrustError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .malformed("optional flag \(other) is neither 0 nor 1")
        }
    }

    func expectEnd() throws(TrustError) {
        guard remaining == 0 else { throw .malformed("\(remaining) trailing bytes") }
    }
}
