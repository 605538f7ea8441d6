import Foundation

/// The canonical, deterministic bytes of a ``ReleaseManifest``: what the release key signs.
///
/// ```
/// "tinyfleet-v1 manifest\0"         22 bytes, domain separation
/// model          string            varint length + UTF-8, 1...128 bytes
/// version        varint            0...2^31-1 (the device link's int31)
/// variant        string            0...128 bytes
/// size           varint            blob bytes, 0...2^63-1
/// sha256         32 raw bytes      no length prefix
/// requirements   map               varint count (<= 64), entries sorted by UTF-8 key bytes, unique;
///                                  key string <= 64 bytes, value string <= 512 bytes
/// metadata       map               same rules
/// issuedAt       varint            milliseconds since 1970-01-01T00:00:00Z
/// kind           1 byte            0 = release, 1 = rollback
/// targetDevice   optional string   0x00, or 0x01 + string (1...128 bytes)
/// ```
/// varint = unsigned LEB128, minimal. Decoding refuses anything else (see `Protocol/MANIFEST.md`).
extension ReleaseManifest {
    static let domainPrefix = "tinyfleet-v1 manifest\0"

    /// The bytes that are signed. Throws ``TrustError/malformed(_:)`` for a manifest that breaks the limits.
    public func canonicalBytes() throws(TrustError) -> [UInt8] {
        try validate()
        var writer = CanonicalWriter(prefix: Self.domainPrefix)
        writer.string(model)
        writer.varint(UInt64(version))
        writer.string(variant)
        writer.varint(UInt64(size))
        writer.raw(sha256)
        writer.map(requirements)
        writer.map(metadata)
        writer.varint(UInt64(Milliseconds.from(issuedAt)))
        writer.byte(kind == .release ? 0 : 1)
        if let targetDevice {
            writer.byte(1)
            writer.string(targetDevice)
        } else {
            writer.byte(0)
        }
        return writer.bytes
    }

    /// Reads one canonical manifest from `reader`, leaving it after the last field.
    static func decode(from reader: inout CanonicalReader) throws(TrustError) -> ReleaseManifest {
        try reader.expectPrefix(domainPrefix)
        let model = try reader.string(maxBytes: Limits.nameBytes)
        let version = try reader.varint(maximum: UInt64(Limits.maximumVersion))
        let variant = try reader.string(maxBytes: Limits.nameBytes)
        let size = try reader.varint(maximum: UInt64(Int64.max))
        let sha256 = try reader.raw(count: 32)
        let requirements = try reader.map(
            maxEntries: Limits.mapEntries,
            maxKeyBytes: Limits.keyBytes,
            maxValueBytes: Limits.valueBytes
        )
        let metadata = try reader.map(
            maxEntries: Limits.mapEntries,
            maxKeyBytes: Limits.keyBytes,
            maxValueBytes: Limits.valueBytes
        )
        let issuedAt = try reader.varint(maximum: UInt64(Milliseconds.maximum))
        let kind: Kind
        switch try reader.byte() {
        case 0: kind = .release
        case 1: kind = .rollback
        case let other: throw .malformed("unknown manifest kind \(other)")
        }
        let targetDevice = try reader.optionalFlag() ? try reader.string(maxBytes: Limits.nameBytes) : nil
        let manifest = ReleaseManifest(
            model: model,
            version: Int(version),
            variant: variant,
            size: Int(size),
            sha256: sha256,
            requirements: requirements,
            metadata: metadata,
            issuedAt: Milliseconds.date(Int64(issuedAt)),
            kind: kind,
            targetDevice: targetDevice
        )
        try manifest.validate()
        return manifest
    }

    private func validate() throws(TrustError) {
        func check(_ condition: Bool, _ detail: @autoclosure () -> String) throws(TrustError) {
            if !condition { throw .malformed("manifest: \(detail())") }
        }
        try check(!model.isEmpty && model.utf8.count <= Limits.nameBytes, "model name must have 1...128 bytes")
        try check(variant.utf8.count <= Limits.nameBytes, "variant must have at most 128 bytes")
        try check(
            version >= 0 && version <= Limits.maximumVersion,
            "version \(version) is outside 0...\(Limits.maximumVersion)"
        )
        try check(size >= 0, "size \(size) is negative")
        try check(sha256.count == 32, "sha256 has \(sha256.count) bytes, not 32")
        for map in [requirements, metadata] {
            try check(map.count <= Limits.mapEntries, "more than 64 entries in a map")
            for (key, value) in map {
                try check(key.utf8.count <= Limits.keyBytes, "key \(key.debugDescription) longer than 64 bytes")
                try check(value.utf8.count <= Limits.valueBytes, "value of \(key) longer than 512 bytes")
            }
        }
        if let targetDevice {
            let count = targetDevice.utf8.count
            try check(count >= 1 && count <= Limits.nameBytes, "target device must have 1...128 bytes")
        }
    }
}
