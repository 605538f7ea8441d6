/// A model as the leaf records it: name, version, variant and the SHA-256 of its weights file, in fixed storage
/// (no allocation). It is also ``TinyRecord/installedModel``'s encoding.
public struct TinyInstalledModel {
    /// The record's size in bytes.
    public static let recordSize = 88
    public static let maximumNameLength = 32
    public static let maximumVariantLength = 16

    // Layout: [0] name length, [1...32] name, [33] variant length, [34...49] variant, [50...53] version
    // (little-endian), [54...85] sha256, [86...87] zero.
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    /// Nil when a name or variant is too long, the version is out of range or `sha256` is not 32 bytes.
    public init?(
        name: UnsafeRawBufferPointer,
        version: Int,
        variant: UnsafeRawBufferPointer,
        sha256: UnsafeRawBufferPointer
    ) {
        guard name.count <= Self.maximumNameLength, variant.count <= Self.maximumVariantLength,
            version >= 0, version <= Int(Int32.max), sha256.count == 32
        else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            raw[0] = UInt8(name.count)
            for index in 0..<name.count { raw[1 + index] = name[index] }
            raw[33] = UInt8(variant.count)
            for index in 0..<variant.count { raw[34 + index] = variant[index] }
            for index in 0..<4 { raw[50 + index] = UInt8(truncatingIfNeeded: version >> (8 * index)) }
            for index in 0..<32 { raw[54 + index] = sha256[index] }
        }
    }

    /// Reads a record written by ``withRecord(_:)``; nil when it is not a valid one.
    public init?(record: UnsafeRawBufferPointer) {
        guard record.count == Self.recordSize, record[0] <= Self.maximumNameLength,
            record[33] <= Self.maximumVariantLength
        else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            for index in 0..<Self.recordSize { raw[index] = record[index] }
        }
        guard version <= Int(Int32.max) else { return nil }
    }

    public var version: Int {
        withUnsafeBytes(of: storage) { raw in
            (0..<4).reduce(0) { $0 | Int(raw[50 + $1]) << (8 * $1) }
        }
    }

    /// True when nothing was ever set (an empty name).
    public var isEmpty: Bool { withUnsafeBytes(of: storage) { $0[0] == 0 } }

    /// Calls `body` with the name, the variant and the SHA-256.
    public func withFields<R>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R
    ) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(
                UnsafeRawBufferPointer(rebasing: raw[1..<(1 + Int(raw[0]))]),
                UnsafeRawBufferPointer(rebasing: raw[34..<(34 + Int(raw[33]))]),
                UnsafeRawBufferPointer(rebasing: raw[54..<86])
            )
        }
    }

    /// Calls `body` with the record bytes (``TinyRecord/installedModel``).
    public func withRecord<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0) }
    }

    /// Same name, version, variant and hash.
    public func matches(_ other: TinyInstalledModel) -> Bool {
        withRecord { mine in other.withRecord { TinyBytes.equal(mine, $0) } }
    }
}
