// Reduced from FleetTinyKit's TinyWireReader (Examples/mcu-qemu/compiler-bug/README.md). At -Osize for armv7em,
// count(minimumSize:) loads bytes.baseAddress, bytes.endAddress and position with `ldm.w r10!, {r0, r1, r2}`: r10
// (Swift's self register, callee-saved) comes back 12 bytes on, and span() then reads `position` past the struct.
public enum E: Error { case truncated, malformed }
public struct Reader {
    private let bytes: UnsafeRawBufferPointer
    public private(set) var position = 0
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    public var remaining: Int { bytes.count - position }
    public mutating func byte() throws(E) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }
    public mutating func varint() throws(E) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .malformed }
        }
    }
    public mutating func count(minimumSize: Int) throws(E) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining / max(minimumSize, 1)) else { throw .truncated }
        return Int(value)
    }
    public mutating func span() throws(E) -> UnsafeRawBufferPointer {
        let start = position
        let n = try count(minimumSize: 2)
        for _ in 0..<n { _ = try byte() }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }
}
