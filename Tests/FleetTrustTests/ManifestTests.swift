import Foundation
import Testing

@testable import FleetTrust

private func sampleManifest(version: Int = 3, kind: ReleaseManifest.Kind = .release) -> ReleaseManifest {
    ReleaseManifest(
        model: "digits-mlp",
        version: version,
        variant: "int8",
        size: 4_321,
        sha256: Digest.sha256(Array("blob v\(version)".utf8)),
        requirements: ["min-ram": "64k", "arch": "armv7m", "accelerator": "none", "min-storage": "128k"],
        metadata: ["accuracy": "0.96"],
        issuedAt: Date(timeIntervalSince1970: 1_700_000_000.123_456),
        kind: kind
    )
}

@Test func canonicalBytesAreDeterministicAndDocumented() throws {
    let manifest = sampleManifest()
    let bytes = try manifest.canonicalBytes()
    #expect(Array(bytes.prefix(22)) == Array("tinyfleet-v1 manifest\0".utf8))
    // model: length 10, then the name; version 3 as a one-byte varint.
    #expect(Array(bytes[22..<33]) == [10] + Array("digits-mlp".utf8))
    #expect(bytes[33] == 3)
    // Rebuilding the dictionaries in another insertion order gives the same bytes (keys sorted by UTF-8 bytes).
    var shuffled = manifest
    shuffled.requirements = Dictionary(uniqueKeysWithValues: manifest.requirements.reversed())
    #expect(try shuffled.canonicalBytes() == bytes)
    // issuedAt is kept to the millisecond.
    #expect(manifest.issuedAt == Date(timeIntervalSince1970: 1_700_000_000.123))
}

@Test func signVerifyAndWireRoundTrip() throws {
    let key = ReleaseKey.generate()
    let signed = try SignedManifest.sign(sampleManifest(), with: key)
    let decoded = try SignedManifest(decoding: try signed.encoded())
    #expect(decoded == signed)
    #expect(try decoded.verify(publicKey: key.publicKey) == sampleManifest())
    let restored = try ReleaseKey(privateKeyBytes: key.privateKeyBytes)
    #expect(restored.publicKey == key.publicKey)
}

@Test func tamperedOrForeignSignaturesAreRefused() throws {
    let key = ReleaseKey.generate()
    let signed = try SignedManifest.sign(sampleManifest(), with: key)
    var changed = signed.manifest
    changed.version = 99
    let tampered = SignedManifest(manifest: changed, signature: signed.signature)
    #expect(throws: TrustError.badSignature("")) { try tampered.verify(publicKey: key.publicKey) }
    #expect(throws: TrustError.badSignature("")) { try signed.verify(publicKey: ReleaseKey.generate().publicKey) }
    #expect(throws: TrustError.invalidKey("")) { try signed.verify(publicKey: [1, 2, 3]) }
}

@Test func strictDecodingRefusesBadBytes() throws {
    let encoded = try SignedManifest.sign(sampleManifest(), with: .generate()).encoded()
    // Every truncation fails, as does a trailing byte.
    for length in 0..<encoded.count {
        #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: Array(encoded.prefix(length))) }
    }
    #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: encoded + [0]) }
    // A model-name length claiming far more than the remaining bytes.
    var huge = encoded
    huge.replaceSubrange(22..<23, with: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: huge) }
    // A non-minimal varint for the version (3 written as 0x83 0x00).
    var overlong = encoded
    overlong.replaceSubrange(33..<34, with: [0x83, 0x00])
    #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: overlong) }
    #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: [UInt8](repeating: 0, count: 90_000)) }
}

@Test func unsortedMapKeysAreRefused() throws {
    var writer = CanonicalWriter(prefix: "")
    writer.varint(2)
    writer.string("b")
    writer.string("1")
    writer.string("a")
    writer.string("2")
    var reader = CanonicalReader(writer.bytes)
    #expect(throws: TrustError.malformed("")) { try reader.map(maxEntries: 4, maxKeyBytes: 8, maxValueBytes: 8) }
}

@Test func blobHasherMatchesOneShotHash() {
    let blob = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    var hasher = BlobHasher()
    for start in stride(from: 0, to: blob.count, by: 4_096) {
        hasher.update(blob[start..<min(start + 4_096, blob.count)])
    }
    #expect(hasher.finalize() == Digest.sha256(blob))
    #expect(hasher.byteCount == blob.count)
}
