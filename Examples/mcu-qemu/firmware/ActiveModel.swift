// What the leaf runs, as the host scripts check it: the active slot's model and the SHA-256 of its bytes read back
// from flash, then a classification through it.

/// Prints `active slot S: NAME vV VARIANT, LENGTH bytes at OFFSET, sha256 HEX` (HEX: the SHA-256 of the slot's bytes
/// read back from flash now, not the record's copy) and classifies the digit row with that model; prints
/// `active slot: none` when no model is installed.
func reportActiveModel(_ installer: TinyFlashModelInstaller<HostFileFlash>, scratch: UnsafeMutableBufferPointer<Float>)
{
    guard let record = installer.store.active(installer.flash) else { return put("active slot: none\n") }
    let offset = installer.store.offset(ofSlot: record.slot)
    var hasher = TinySHA256()
    var chunk: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    var done = 0
    while done < record.length {
        let count = min(64, record.length - done)
        let read = withUnsafeMutableBytes(of: &chunk) { bytes in
            let piece = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<count])
            guard installer.flash.read(at: offset + done, into: piece) else { return false }
            hasher.update(UnsafeRawBufferPointer(piece))
            return true
        }
        guard read else { return put("active slot: unreadable\n") }
        done += count
    }
    let digest = hasher.finalize()
    var hex: (TinyDigest32, TinyDigest32) = (TinyDigest32(), TinyDigest32())
    withUnsafeMutableBytes(of: &hex) { hexBytes in
        digest.withUnsafeBytes { _ = TinyBytes.hex($0, into: hexBytes) }
        put("active slot ")
        putU32(UInt32(record.slot))
        put(": ")
        record.withName { text($0) }
        put(" v")
        putU32(record.version)
        put(" ")
        record.withVariant { text($0) }
        put(", ")
        putU32(UInt32(record.length))
        put(" bytes at ")
        putU32(UInt32(offset))
        put(", sha256 ")
        text(UnsafeRawBufferPointer(hexBytes))
        put("\n")
    }
    classify(installer, scratch: scratch)
}
