import Foundation

/// Compact binary encoding of a ``DriftSummary`` (varint = unsigned LEB128, minimal):
///
/// ```
/// "TFDS" 0x01                     magic and version
/// windowStart, windowEnd          varint milliseconds since the epoch (end >= start)
/// sampleCount                     varint
/// featureCount (<= 4096)          varint; then per feature: binCount (<= 256) varint, binCount varint counts
/// classCount (<= 4096)            varint, then the counts
/// confidenceBinCount (<= 256)     varint, then the counts
/// ```
/// Counts are at most `UInt32.max`. Decoding checks every length against the bytes left and the limits above,
/// and refuses an input over ``maximumEncodedSize`` or with trailing bytes.
extension DriftSummary {
    public static let maximumEncodedSize = 1 << 20
    static let magic: [UInt8] = Array("TFDS".utf8) + [1]

    public func encoded() -> [UInt8] {
        var out = Self.magic
        VarintCodec.write(UInt64(Self.milliseconds(windowStart)), to: &out)
        VarintCodec.write(UInt64(Self.milliseconds(windowEnd)), to: &out)
        VarintCodec.write(UInt64(sampleCount), to: &out)
        VarintCodec.write(UInt64(featureCounts.count), to: &out)
        for bins in featureCounts { Self.writeCounts(bins, to: &out) }
        Self.writeCounts(classCounts, to: &out)
        Self.writeCounts(confidenceCounts, to: &out)
        return out
    }

    public init(decoding bytes: [UInt8]) throws(ObserveError) {
        guard bytes.count <= Self.maximumEncodedSize else { throw .malformed("summary over 1 MiB") }
        guard bytes.starts(with: Self.magic) else { throw .malformed("not a TinyFleet drift summary (v1)") }
        var reader = VarintCodec.Reader(bytes: bytes, offset: Self.magic.count)
        let start = try reader.read(maximum: UInt64(Int64.max))
        let end = try reader.read(maximum: UInt64(Int64.max))
        guard end >= start else { throw .malformed("window ends before it starts") }
        let samples = try reader.read(maximum: UInt64(UInt32.max))
        let featureCount = try reader.read(maximum: 4096)
        var features: [[UInt32]] = []
        for _ in 0..<featureCount { features.append(try Self.readCounts(&reader, maximum: 256)) }
        let classes = try Self.readCounts(&reader, maximum: 4096)
        let confidences = try Self.readCounts(&reader, maximum: 256)
        guard reader.atEnd else { throw .malformed("trailing bytes after the summary") }
        self.init(
            windowStart: Date(timeIntervalSince1970: Double(start) / 1000),
            windowEnd: Date(timeIntervalSince1970: Double(end) / 1000),
            sampleCount: UInt32(samples),
            featureCounts: features,
            classCounts: classes,
            confidenceCounts: confidences
        )
    }

    private static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        return value.isFinite && value > 0 ? Int64(min(value, 253_402_300_799_999)) : 0
    }

    private static func writeCounts(_ counts: [UInt32], to out: inout [UInt8]) {
        VarintCodec.write(UInt64(counts.count), to: &out)
        for count in counts { VarintCodec.write(UInt64(count), to: &out) }
    }

    private static func readCounts(
        _ reader: inout VarintCodec.Reader,
        maximum: UInt64
    ) throws(ObserveError)
        -> [UInt32]
    {
        let count = Int(try reader.read(maximum: maximum))
        // Each count takes at least one byte, so a length beyond the bytes left is refused before allocating.
        guard count <= reader.remaining else { throw .malformed("\(count) counts but \(reader.remaining) bytes left") }
        var counts: [UInt32] = []
        counts.reserveCapacity(count)
        for _ in 0..<count { counts.append(UInt32(try reader.read(maximum: UInt64(UInt32.max)))) }
        return counts
    }
}

/// Minimal unsigned LEB128 varints (the same rules as FleetTrust's canonical encoding).
enum VarintCodec {
    static func write(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    struct Reader {
        let bytes: [UInt8]
        var offset: Int

        var remaining: Int { bytes.count - offset }
        var atEnd: Bool { offset == bytes.count }

        mutating func read(maximum: UInt64) throws(ObserveError) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<10 {
                guard offset < bytes.count else { throw .malformed("truncated varint at \(offset)") }
                let next = bytes[offset]
                offset += 1
                if index == 9 && next > 1 { throw .malformed("varint overflows 64 bits") }
                value |= UInt64(next & 0x7F) << (7 * UInt64(index))
                if next & 0x80 == 0 {
                    if index > 0 && next == 0 { throw .malformed("non-minimal varint") }
                    guard value <= maximum else { throw .malformed("value \(value) above \(maximum)") }
                    return value
                }
            }
            throw .malformed("varint longer than 10 bytes")
        }
    }
}
