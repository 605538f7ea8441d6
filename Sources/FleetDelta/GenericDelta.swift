/// A byte-level copy/add delta against any base, raw-deflated (DELTA.md, "Generic delta").
///
/// Instructions, repeated until the output has its declared size:
/// ```
/// varint addLength | addLength literal bytes | varint copyLength | zigzag varint (copyOffset - lastCopyEnd)
/// ```
/// (the offset field is present only when `copyLength > 0`). The deflated instruction stream inflates to at
/// most `2 * outputSize + 64` bytes.
enum GenericDelta {
    static func inflateLimit(outputSize: Int) -> Int { 2 * outputSize + 64 }

    /// Encodes `new` against `old` and returns the raw-deflated instruction stream.
    static func encode(old: ArraySlice<UInt8>, new: ArraySlice<UInt8>, level: Int32) throws -> [UInt8] {
        let new = Array(new)
        let matcher = GenericMatcher(old: Array(old))
        var writer = ByteWriter()
        var lastCopyEnd = 0
        for instruction in matcher.instructions(new[...]) {
            writer.writeVarint(instruction.literals.count)
            writer.write(new[instruction.literals])
            writer.writeVarint(instruction.copyLength)
            guard instruction.copyLength > 0 else { continue }
            writer.writeVarint(zigzag(instruction.copyOffset - lastCopyEnd))
            lastCopyEnd = instruction.copyOffset + instruction.copyLength
        }
        if new.isEmpty { writer.write([0, 0]) }
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

    private static func zigzag(_ value: Int) -> Int { value >= 0 ? value << 1 : ((-value) << 1) - 1 }

    private static func unzigzag(_ value: Int) -> Int { value & 1 == 0 ? value >> 1 : -(value >> 1) - 1 }
}

/// One step of a copy/add delta: literal bytes of the new file (a range of it), then a copy of `copyLength` bytes
/// of the base from `copyOffset` (none when `copyLength` is 0).
struct GenericInstruction: Equatable {
    var literals: Range<Int>
    var copyOffset: Int
    var copyLength: Int
}

/// Finds copies of the base in a new file (DELTA.md 3.1, informative): every 8-byte window of the base is hashed;
/// at each position the matcher tries the base position that continues the previous copy and the last base
/// position with the same hash, keeps matches of at least 8 bytes and extends them backwards over pending literals.
/// Shared by the generic delta and the stream mode.
struct GenericMatcher {
    private static let minimumMatch = 8
    let old: [UInt8]
    private let table: HashIndex

    init(old: [UInt8]) {
        self.old = old
        table = HashIndex(old)
    }

    /// The instructions that rebuild `new` (indices of `new` are its own); the last one may have no copy.
    func instructions(_ new: ArraySlice<UInt8>) -> [GenericInstruction] {
        var result: [GenericInstruction] = []
        var pendingStart = new.startIndex
        var lastCopyEnd = 0
        var index = new.startIndex
        while index + Self.minimumMatch <= new.endIndex {
            let predicted = lastCopyEnd + (index - pendingStart)
            var bestOffset = -1
            var bestLength = 0
            for candidate in [predicted, table.lookup(new, at: index)] where candidate >= 0 {
                let length = matchLength(candidate, new, index)
                if length > bestLength {
                    bestLength = length
                    bestOffset = candidate
                }
            }
            guard bestLength >= Self.minimumMatch else {
                index += 1
                continue
            }
            while index > pendingStart, bestOffset > 0, old[bestOffset - 1] == new[index - 1] {
                index -= 1
                bestOffset -= 1
                bestLength += 1
            }
            result.append(
                GenericInstruction(literals: pendingStart..<index, copyOffset: bestOffset, copyLength: bestLength)
            )
            lastCopyEnd = bestOffset + bestLength
            index += bestLength
            pendingStart = index
        }
        if pendingStart < new.endIndex {
            result.append(GenericInstruction(literals: pendingStart..<new.endIndex, copyOffset: 0, copyLength: 0))
        }
        return result
    }

    private func matchLength(_ offset: Int, _ new: ArraySlice<UInt8>, _ index: Int) -> Int {
        guard offset < old.count else { return 0 }
        let limit = min(old.count - offset, new.endIndex - index)
        var length = 0
        while length < limit, old[offset + length] == new[index + length] { length += 1 }
        return length
    }
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

    func lookup(_ bytes: ArraySlice<UInt8>, at index: Int) -> Int { Int(slots[Self.hash(bytes, index) & mask]) }

    private static func hash<C: RandomAccessCollection>(_ bytes: C, _ index: Int) -> Int
    where C.Element == UInt8, C.Index == Int {
        var value: UInt64 = 0
        for offset in 0..<8 { value = value << 8 | UInt64(bytes[index + offset]) }
        return Int(truncatingIfNeeded: (value &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }
}
