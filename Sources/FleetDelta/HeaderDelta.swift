/// Codes the new safetensors JSON header against the old one (DELTA.md, "Header delta").
///
/// ```
/// varint newLength | varint prefix | varint suffix | varint (storedLength << 1 | deflated) | stored bytes
/// ```
/// The new header is `old[..<prefix] + middle + old[old.count - suffix...]`, where `middle` is the stored
/// bytes, raw-deflated when the flag is set, and has exactly `newLength - prefix - suffix` bytes.
enum HeaderDelta {
    static func encode(old: ArraySlice<UInt8>, new: ArraySlice<UInt8>, into writer: inout ByteWriter) throws {
        let old = Array(old)
        let new = Array(new)
        let limit = min(old.count, new.count)
        var prefix = 0
        while prefix < limit, old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < limit - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        let middle = Array(new[prefix..<(new.count - suffix)])
        let deflated = middle.count > 16 ? try Zlib.compress(middle, format: .raw) : middle
        let useDeflate = deflated.count < middle.count
        writer.writeVarint(new.count)
        writer.writeVarint(prefix)
        writer.writeVarint(suffix)
        let stored = useDeflate ? deflated : middle
        writer.writeVarint(stored.count << 1 | (useDeflate ? 1 : 0))
        writer.write(stored)
    }

    static func decode(old: ArraySlice<UInt8>, reader: inout ByteReader, maximumLength: Int) throws -> [UInt8] {
        let length = try reader.readVarint()
        guard length <= maximumLength else { throw DeltaError.outputTooLarge.with("header of \(length) bytes") }
        let prefix = try reader.readLength(atMost: min(old.count, length))
        let suffix = try reader.readLength(atMost: min(old.count, length) - prefix)
        let code = try reader.readVarint()
        let stored = try reader.readBytes(code >> 1)
        let middleLength = length - prefix - suffix
        let middle: [UInt8]
        if code & 1 == 1 {
            middle = try Zlib.decompress(stored, maximumSize: middleLength, format: .raw)
        } else {
            middle = Array(stored)
        }
        guard middle.count == middleLength else { throw DeltaError.corrupt.with("header middle length") }
        var header = Array(old.prefix(prefix))
        header.reserveCapacity(length)
        header.append(contentsOf: middle)
        header.append(contentsOf: old.suffix(suffix))
        return header
    }
}
