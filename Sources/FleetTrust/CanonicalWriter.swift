import Foundation

/// Appends the primitives of TinyFleet's canonical signing encodings (`Protocol/MANIFEST.md`, `Protocol/CONSENT.md`).
///
/// - varint: unsigned LEB128, least significant 7 bits first, minimal length (no trailing `0x80 … 0x00`).
/// - string: varint byte count, then the UTF-8 bytes.
/// - map: varint entry count, then each entry as string key, string value, sorted by the key's UTF-8 bytes
///   (byte-wise, shorter prefix first), keys unique.
/// - optional: one byte `0` (absent) or `1` (present) followed by the value.
struct CanonicalWriter {
    private(set) var bytes: [UInt8] = []

    init(prefix: String) {
        bytes = Array(prefix.utf8)
    }

    mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func raw(_ value: [UInt8]) {
        bytes.append(contentsOf: value)
    }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func map(_ value: [String: String]) {
        varint(UInt64(value.count))
        for key in Self.sortedKeys(value) {
            string(key)
            string(value[key] ?? "")
        }
    }

    /// Keys ordered by their UTF-8 bytes (not by `String` comparison, which is Unicode-aware).
    static func sortedKeys(_ map: [String: String]) -> [String] {
        map.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}

/// Milliseconds since the Unix epoch, the only time form in TinyFleet's signed records.
enum Milliseconds {
    /// The largest encodable instant: 9999-12-31T23:59:59.999Z.
    static let maximum: Int64 = 253_402_300_799_999

    /// Rounds to the nearest millisecond and clamps to `0...maximum`.
    static func from(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite, value > 0 else { return 0 }
        return value >= Double(maximum) ? maximum : Int64(value)
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` rounded to the millisecond, so that it survives an encode and decode unchanged.
    static func normalized(_ date: Date) -> Date {
        Self.date(from(date))
    }
}
