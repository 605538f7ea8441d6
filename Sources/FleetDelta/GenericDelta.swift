/// A byte-level copy/add delta against any base, raw-deflated (DELTA.md, "Generic delta").
///
/// Instructions, repeated until the output has its declared size:
/// ```
/// varint addLength | addLength literal bytes | varint copyLength | zigzag varint (copyOffset - lastCopyEnd)
/// ```
/// (the offset field is present only when `copyLength > 0`). The deflated instruction stream inflates to at
/// most `2 * outputSize + 64` bytes.
enum GenericDelta {
    private static let minimumMatch = 8

    static func inflateLimit(outputSize: Int) -> Int { 2 * outputSize + 64 }

    /// Encodes `new` against `old` and returns the raw-deflated instruction stream.
    static func encode(old: ArraySlice<UInt8>, new: ArraySlice<UInt8>, level: Int32) throws -> [UInt8] {
        let old = Array(old)
        let new = Array(new)
        var writer = ByteWriter()
        var pendingStart = 0
        var lastCopyEnd = 0
        var index = 0
        let table = HashIndex(old)
        while index + minimumMatch <= new.count {
            let predicted = lastCopyEnd + (index - pendingStart)
            var bestOffset = -1
            var bestLength = 0
            for candidate in [predicted, table.lookup(new, at: index)] where candidate >= 0 {
                let length = matchLength(old, candidate, new, index)
                if length > bestLength {
                    bestLength = length
                    bestOffset = candidate
                }
            }
            guard bestLength >= minimumMatch else {
                index += 1
                continue
            }
            while index > pendingStart, bestOffset > 0, old[bestOffset - 1] == new[index - 1] {
                index -= 1
                bestOffset -= 1
                bestLength += 1
            }
            writer.writeVarint(index - pendingStart)
            writer.write(new[pendingStart..<index])
            writer.writeVarint(bestLength)
            writer.writeVarint(zigzag(bestOffset - lastCopyEnd))
            lastCopyEnd = bestOffset + bestLength
            index += bestLength
            pendingStart = index
        }
        if pendingStart < new.count || new.isEmpty {
            writer.writeVarint(new.count - pendingStart)
            writer.write(new[pendingStart...])
            writer.writeVarint(0)
        }
        var instructions = writer.bytes
        if instructions.count > inflateLimit(outputSize: new.count) {
            var literal = ByteWriter()
            literal.writeVarint(new.count)
            literal.write(new)
            literal.writeVarint(0)
            instructions = literal.bytes
        }
        return try Zlib.compress(instructions, level: level, format: .raw)
    }

    /// Rebuilds `outputSize` bytes from a deflated instruction stream and `old`.
    static func decode(old: ArraySlice<UInt8>, payload: ArraySlice<UInt8>, outputSize: Int) throws -> [UInt8] {
        let instructions = try Zlib.decompress(
            payload,
            maximumSize: inflateLimit(outputSize: outputSize),
            format: .raw
        )
        var reader = ByteReader(instructions)
        var output: [UInt8] = []
        output.reserveCapacity(outputSize)
        var lastCopyEnd = 0
        repeat {
            let addLength = try reader.readLength(atMost: outputSize - output.count)
            output.append(contentsOf: try reader.readBytes(addLength))
            let copyLength = try reader.readLength(atMost: outputSize - output.count)
            guard copyLength > 0 else { continue }
            let offset = lastCopyEnd + unzigzag(try reader.readVarint())
            guard offset >= 0, offset <= old.count - copyLength else {
                throw DeltaError.corrupt.with("copy \(offset)+\(copyLength) outside a base of \(old.count)")
            }
            let start = old.startIndex + offset
            output.append(contentsOf: old[start..<(start + copyLength)])
            lastCopyEnd = offset + copyLength
        } while output.count < outputSize
        guard reader.remaining == 0 else { throw DeltaError.corrupt.with("instructions after the output") }
        return output
    }

    private static func matchLength(_ old: [UInt8], _ offset: Int, _ new: [UInt8], _ index: Int) -> Int {
        guard offset < old.count else { return 0 }
        let limit = min(old.count - offset, new.count - index)
        var length = 0
        while length < limit, old[offset + length] == new[index + length] { length += 1 }
        return length
    }

    private static func zigzag(_ value: Int) -> Int { value >= 0 ? value << 1 : ((-value) << 1) - 1 }

    private static func unzigzag(_ value: Int) -> Int { value & 1 == 0 ? value >> 1 : -(value >> 1) - 1 }
}

/// The last position of each 8-byte window of the base, by hash.
private struct HashIndex {
    private var slots: [Int32]
    private let mask: Int

    init(_ old: [UInt8]) {
        var size = 1 << 10
        while size < old.count, size < 1 << 22 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        guard old.count >= 8 else { return }
        for index in 0...(old.count - 8) { slots[Self.hash(old, index) & mask] = Int32(index) }
    }

    func lookup(_ bytes: [UInt8], at index: Int) -> Int { Int(slots[Self.hash(bytes, index) & mask]) }

    private static func hash(_ bytes: [UInt8], _ index: Int) -> Int {
        var value: UInt64 = 0
        for offset in 0..<8 { value = value << 8 | UInt64(bytes[index + offset]) }
        return Int(truncatingIfNeeded: (value &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }
}
