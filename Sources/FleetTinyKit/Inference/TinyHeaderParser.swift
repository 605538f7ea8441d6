/// A bounded parser of a safetensors JSON header read from flash: reports each `fcK.weight`, `fcK.bias`,
/// `fcK.weight_scale`, `fcK.bias_scale` entry (K 1...9) and skips everything else (metadata, other tensors). Keys
/// longer than 48 bytes never match; nesting deeper than 8, numbers over 10^9 and tensors of more than 2^30
/// elements are malformed (every value fits a 32-bit `Int`).
struct TinyHeaderParser<Flash: TinyFlash> {
    var cursor: TinyFlashCursor<Flash>
    let dataSize: Int

    private static var maximumDepth: Int { 8 }
    private typealias Key = InlineArray<48, UInt8>

    private static var quote: UInt8 { 0x22 }
    private static var backslash: UInt8 { 0x5C }

    mutating func parse(
        _ found: (Int, TinyLayerTensors.Part, TinyTensorEntry) throws(TinyModelError) -> Void
    ) throws(TinyModelError) {
        guard cursor.expect(0x7B) else { throw .malformedHeader }
        if cursor.skipSpace() == 0x7D {
            _ = cursor.next()
        } else {
            while true {
                var key = Key(repeating: 0)
                let keyLength = try readString(into: &key)
                guard cursor.expect(0x3A) else { throw .malformedHeader }
                if let (layer, part) = Self.layerPart(key, keyLength) {
                    try found(layer, part, try readTensor())
                } else {
                    try skipValue()
                }
                guard let separator = cursor.skipSpace() else { throw .malformedHeader }
                _ = cursor.next()
                if separator == 0x7D { break }
                guard separator == 0x2C else { throw .malformedHeader }
            }
        }
        guard cursor.skipSpace() == nil else { throw .malformedHeader }
    }

    /// Reads a JSON string, keeping up to 48 bytes (escapes kept as the escaped byte); returns its length, which
    /// may exceed 48 (then the key matches nothing).
    private mutating func readString(into key: inout Key) throws(TinyModelError) -> Int {
        guard cursor.expect(Self.quote) else { throw .malformedHeader }
        var length = 0
        while true {
            guard var byte = cursor.next() else { throw .malformedHeader }
            if byte == Self.quote { return length }
            if byte == Self.backslash {
                guard let escaped = cursor.next() else { throw .malformedHeader }
                byte = escaped
            }
            if length < 48 { key[length] = byte }
            length += 1
        }
    }

    private mutating func readTensor() throws(TinyModelError) -> TinyTensorEntry {
        var entry = TinyTensorEntry()
        var hasOffsets = false
        guard cursor.expect(0x7B) else { throw .malformedHeader }
        while cursor.skipSpace() != 0x7D {
            var key = Key(repeating: 0)
            let length = try readString(into: &key)
            guard cursor.expect(0x3A) else { throw .malformedHeader }
            if Self.equal(key, length, "dtype") {
                var value = Key(repeating: 0)
                let valueLength = try readString(into: &value)
                entry.dtype =
                    Self.equal(value, valueLength, "I8") ? .i8 : Self.equal(value, valueLength, "F32") ? .f32 : .other
            } else if Self.equal(key, length, "shape") {
                try readShape(&entry)
            } else if Self.equal(key, length, "data_offsets") {
                guard cursor.expect(0x5B) else { throw .malformedHeader }
                entry.begin = try readInteger()
                guard cursor.expect(0x2C) else { throw .malformedHeader }
                entry.end = try readInteger()
                guard cursor.expect(0x5D) else { throw .malformedHeader }
                hasOffsets = true
            } else {
                try skipValue()
            }
            if cursor.skipSpace() == 0x2C { _ = cursor.next() }
        }
        _ = cursor.next()
        let width = entry.dtype == .f32 ? 4 : 1
        guard hasOffsets, entry.begin <= entry.end, entry.end <= dataSize else { throw .malformedHeader }
        guard entry.dtype == .other || entry.end - entry.begin == entry.elements * width else {
            throw .malformedHeader
        }
        return entry
    }

    private mutating func readShape(_ entry: inout TinyTensorEntry) throws(TinyModelError) {
        guard cursor.expect(0x5B) else { throw .malformedHeader }
        entry.rank = 0
        entry.elements = 1
        while cursor.skipSpace() != 0x5D {
            let dimension = try readInteger()
            if entry.rank == 0 { entry.dimension0 = dimension }
            if entry.rank == 1 { entry.dimension1 = dimension }
            entry.rank += 1
            let (product, overflow) = entry.elements.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= 1 << 30, entry.rank <= 8 else { throw .malformedHeader }
            entry.elements = product
            if cursor.skipSpace() == 0x2C { _ = cursor.next() }
        }
        _ = cursor.next()
    }

    private mutating func readInteger() throws(TinyModelError) -> Int {
        guard let first = cursor.skipSpace(), first >= 0x30, first <= 0x39 else { throw .malformedHeader }
        var value = 0
        while let byte = cursor.peek(), byte >= 0x30, byte <= 0x39 {
            guard value <= 100_000_000 else { throw .malformedHeader }
            value = value * 10 + Int(byte - 0x30)
            _ = cursor.next()
        }
        return value
    }

    /// Skips one JSON value of any kind, nested at most 8 deep.
    private mutating func skipValue() throws(TinyModelError) {
        var depth = 0
        repeat {
            guard let byte = cursor.skipSpace() else { throw .malformedHeader }
            switch byte {
            case Self.quote:
                var ignored = Key(repeating: 0)
                _ = try readString(into: &ignored)
            case 0x7B, 0x5B:
                _ = cursor.next()
                depth += 1
                guard depth <= Self.maximumDepth else { throw .malformedHeader }
            case 0x7D, 0x5D:
                guard depth > 0 else { throw .malformedHeader }
                _ = cursor.next()
                depth -= 1
            case 0x2C, 0x3A:
                guard depth > 0 else { throw .malformedHeader }
                _ = cursor.next()
            default:
                while let next = cursor.peek(), next != 0x2C, next != 0x7D, next != 0x5D, next != 0x20, next != 0x0A,
                    next != 0x0D, next != 0x09
                {
                    _ = cursor.next()
                }
            }
        } while depth > 0
    }

    private static func equal(_ key: Key, _ length: Int, _ text: StaticString) -> Bool {
        guard length == text.utf8CodeUnitCount else { return false }
        let pointer = text.utf8Start
        for index in 0..<length where key[index] != pointer[index] { return false }
        return true
    }

    /// `fcK.weight` and friends: the layer (K - 1) and the part.
    private static func layerPart(_ key: Key, _ length: Int) -> (Int, TinyLayerTensors.Part)? {
        guard length > 4, length <= 48, key[0] == 0x66, key[1] == 0x63, key[2] >= 0x31, key[2] <= 0x39,
            key[3] == 0x2E
        else { return nil }
        var suffix = Key(repeating: 0)
        for index in 4..<length { suffix[index - 4] = key[index] }
        let layer = Int(key[2] - 0x31)
        let count = length - 4
        if equal(suffix, count, "weight") { return (layer, .weight) }
        if equal(suffix, count, "weight_scale") { return (layer, .weightScale) }
        if equal(suffix, count, "bias") { return (layer, .bias) }
        if equal(suffix, count, "bias_scale") { return (layer, .biasScale) }
        return nil
    }
}
