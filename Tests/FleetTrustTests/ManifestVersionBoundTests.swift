import Foundation
import Testing

@testable import FleetTrust

/// Manifests carry versions in the device link's `int31` range (Protocol/MANIFEST.md, SPEC.md 3.1): a version
/// the link's `version` fields cannot carry is refused when signing and when decoding.
@Suite struct ManifestVersionBoundTests {
    func manifest(version: Int) -> ReleaseManifest {
        ReleaseManifest(
            model: "m",
            version: version,
            variant: "fp32",
            size: 1,
            sha256: Digest.sha256([1]),
            requirements: [:],
            metadata: [:],
            issuedAt: Date(timeIntervalSince1970: 1_700_000_000),
            kind: .release
        )
    }

    @Test func theLargestInt31VersionRoundTrips() throws {
        let key = ReleaseKey.generate()
        let signed = try SignedManifest.sign(manifest(version: Int(Int32.max)), with: key)
        let decoded = try SignedManifest(decoding: try signed.encoded())
        #expect(try decoded.verify(publicKey: key.publicKey).version == Int(Int32.max))
    }

    @Test(arguments: [Int(Int32.max) + 1, Int(Int64.max)])
    func aLargerVersionIsNotSigned(version: Int) {
        #expect(throws: TrustError.malformed("")) { try manifest(version: version).canonicalBytes() }
    }

    @Test func aLargerVersionIsNotDecoded() throws {
        // The canonical bytes of version 2^31 - 1 (`ff ff ff ff 07`, after the prefix and the 1-byte name) with the
        // version replaced by 2^31 (`80 80 80 80 08`), signed: the decoder refuses it before any signature check.
        let key = ReleaseKey.generate()
        var bytes = try manifest(version: Int(Int32.max)).canonicalBytes()
        let versionAt = 22 + 2
        #expect(Array(bytes[versionAt..<(versionAt + 5)]) == [0xff, 0xff, 0xff, 0xff, 0x07])
        bytes.replaceSubrange(versionAt..<(versionAt + 5), with: [0x80, 0x80, 0x80, 0x80, 0x08])
        let signature = try key.signature(for: bytes)
        #expect(throws: TrustError.malformed("")) { try SignedManifest(decoding: bytes + signature) }
    }
}
