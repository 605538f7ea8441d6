// TinyManifest, the leaf's check of a signed release manifest, against manifests signed by FleetTrust (the
// coordinator's code): same fields, the same verdict on tampered, truncated, re-signed malformed input, and wrong
// release keys.
import FleetLearning
import Foundation
import Testing

@testable import FleetTinyKit
@testable import FleetTrust

@Suite struct CryptoManifestTests {
    @Test func hostSignedManifestsParseToTheSameFields() throws {
        for (index, manifest) in ManifestFixtures.samples.enumerated() {
            let bytes = try ManifestFixtures.signed(manifest)
            let parsed = try ManifestFixtures.tiny(bytes).get()
            #expect(ManifestFixtures.fieldsMatch(parsed, bytes, manifest), "sample \(index)")
        }
    }

    /// Every single-bit flip of a signed manifest (field bytes and signature alike) is refused by the kit, as by
    /// FleetTrust.
    @Test func everyBitFlipIsRefused() throws {
        let bytes = try ManifestFixtures.signed(ManifestFixtures.samples[0])
        var refusals: [TinyManifestError: Int] = [:]
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(ManifestFixtures.hostAccepts(flipped) == nil, "bit \(bit)")
            guard case .failure(let error) = ManifestFixtures.tiny(flipped) else {
                Issue.record("bit \(bit) accepted")
                continue
            }
            refusals[error, default: 0] += 1
        }
        // Most flips break the signature; flips in lengths, the domain prefix or the flags break the encoding.
        #expect(refusals[.badSignature, default: 0] > bytes.count * 4)
        #expect(refusals[.wrongDomain, default: 0] == 22 * 8)
    }

    /// Every prefix of the two small samples, and of the 74 KB one every 509th prefix and the last 70, is refused by
    /// both; one byte more is `trailingBytes`.
    @Test func truncatedAndExtendedInputIsRefused() throws {
        for manifest in ManifestFixtures.samples {
            let bytes = try ManifestFixtures.signed(manifest)
            let counts =
                bytes.count < 1_000
                ? Array(0..<bytes.count)
                : Array(stride(from: 0, to: bytes.count, by: 509)) + Array((bytes.count - 70)..<bytes.count)
            for count in counts {
                let prefix = Array(bytes[0..<count])
                #expect(ManifestFixtures.hostAccepts(prefix) == nil)
                if case .success = ManifestFixtures.tiny(prefix) { Issue.record("prefix of \(count) bytes accepted") }
            }
            #expect(ManifestFixtures.hostAccepts(bytes + [0]) == nil)
            #expect(ManifestFixtures.tiny(bytes + [0]) == .failure(.trailingBytes))
        }
    }

    @Test func wrongReleaseKeysAreRefused() throws {
        let bytes = try ManifestFixtures.signed(ManifestFixtures.samples[1])
        let other = ManifestFixtures.otherKey.publicKey
        #expect(ManifestFixtures.hostAccepts(bytes, key: other) == nil)
        #expect(ManifestFixtures.tiny(bytes, key: other) == .failure(.badSignature))
        #expect(ManifestFixtures.tiny(bytes, key: [UInt8](repeating: 0, count: 32)) == .failure(.badSignature))
        #expect(
            ManifestFixtures.tiny(bytes, key: Array(ManifestFixtures.releaseKey.publicKey.dropLast()))
                == .failure(.badReleaseKey)
        )
        #expect(
            ManifestFixtures.tiny(bytes, key: ManifestFixtures.releaseKey.publicKey + [0]) == .failure(.badReleaseKey)
        )
        // Signed by the other key, checked with the pinned one.
        let forged = try ManifestFixtures.signed(ManifestFixtures.samples[1], key: ManifestFixtures.otherKey)
        #expect(ManifestFixtures.tiny(forged) == .failure(.badSignature))
    }

    /// Each rule of Protocol/MANIFEST.md broken on its own, in a manifest signed with the release key (so only the
    /// encoding can refuse it): the kit names the rule, and FleetTrust refuses it too.
    @Test func brokenRulesAreRefusedEvenWhenSigned() throws {
        let valid = ManifestParts()
        #expect(valid.bytes == (try ManifestParts.hostEquivalent.canonicalBytes()))
        #expect(ManifestFixtures.hostAccepts(try ManifestFixtures.signing(valid.bytes)) != nil)
        #expect((try? ManifestFixtures.tiny(try ManifestFixtures.signing(valid.bytes)).get()) != nil)

        func broken(_ change: (inout ManifestParts) -> Void) -> [UInt8] {
            var parts = valid
            change(&parts)
            return parts.bytes
        }
        let cases: [(String, [UInt8], TinyManifestError)] = [
            ("domain", broken { $0.prefix[0] = UInt8(ascii: "T") }, .wrongDomain),
            ("empty model", broken { $0.model = ManifestParts.string("") }, .outOfRange),
            (
                "129-byte model", broken { $0.model = ManifestParts.string(String(repeating: "m", count: 129)) },
                .outOfRange
            ),
            ("non-minimal version", broken { $0.version = [0x83, 0x00] }, .malformedVarint),
            ("11-byte varint", broken { $0.size = [UInt8](repeating: 0x80, count: 10) + [0x01] }, .malformedVarint),
            ("version 2^31", broken { $0.version = ManifestParts.varint(1 << 31) }, .outOfRange),
            ("size 2^63", broken { $0.size = ManifestParts.varint(1 << 63) }, .outOfRange),
            ("overlong UTF-8", broken { $0.variant = ManifestParts.string([0xC0, 0x80]) }, .invalidUTF8),
            ("surrogate", broken { $0.variant = ManifestParts.string([0xED, 0xA0, 0x80]) }, .invalidUTF8),
            ("cut UTF-8", broken { $0.model = ManifestParts.string([0x61, 0xE2, 0x82]) }, .invalidUTF8),
            ("unsorted keys", broken { $0.requirements = ManifestParts.map([("b", "1"), ("a", "2")]) }, .unsortedKeys),
            ("repeated key", broken { $0.metadata = ManifestParts.map([("a", "1"), ("a", "2")]) }, .unsortedKeys),
            ("prefix key after", broken { $0.metadata = ManifestParts.map([("ab", "1"), ("a", "2")]) }, .unsortedKeys),
            (
                "65 entries",
                broken { $0.metadata = ManifestParts.map((0..<65).map { (String(format: "%02d", $0), "") }) },
                .outOfRange
            ),
            (
                "65-byte key", broken { $0.metadata = ManifestParts.map([(String(repeating: "k", count: 65), "")]) },
                .outOfRange
            ),
            (
                "513-byte value",
                broken { $0.requirements = ManifestParts.map([("arch", String(repeating: "v", count: 513))]) },
                .outOfRange
            ),
            ("issuedAt after 9999", broken { $0.issuedAt = ManifestParts.varint(253_402_300_800_000) }, .outOfRange),
            ("kind 2", broken { $0.kind = [2] }, .unknownKind),
            ("optional flag 2", broken { $0.targetDevice = [2] }, .badOptionalFlag),
            ("empty target", broken { $0.targetDevice = [1] + ManifestParts.string("") }, .outOfRange),
        ]
        for (name, canonical, expected) in cases {
            let signed = try ManifestFixtures.signing(canonical)
            #expect(ManifestFixtures.hostAccepts(signed) == nil, "\(name)")
            #expect(ManifestFixtures.tiny(signed) == .failure(expected), "\(name)")
        }
        let oversized =
            try ManifestFixtures.signing(
                broken { $0.metadata = ManifestParts.map([("pad", String(repeating: "p", count: 500))]) }
            )
            + [UInt8](repeating: 0, count: TinyManifest.maximumEncodedSize)
        #expect(ManifestFixtures.tiny(oversized) == .failure(.tooLarge))
    }

    /// 400 random mutations of canonical bytes (a byte replaced, inserted or removed), each signed with the release
    /// key: the kit accepts exactly those FleetTrust accepts, with the same fields.
    @Test func resignedMutationsMatchFleetTrust() throws {
        var generator = SeededGenerator(seed: 0x3A41_F357)
        let base = try ManifestFixtures.samples[1].canonicalBytes()
        var accepted = 0
        for round in 0..<400 {
            var mutated = base
            let position = Int(generator.next() % UInt64(mutated.count))
            let value = UInt8(truncatingIfNeeded: generator.next())
            switch generator.next() % 3 {
            case 0: mutated[position] = value
            case 1: mutated.insert(value, at: position)
            default: mutated.remove(at: position)
            }
            let signed = try ManifestFixtures.signing(mutated)
            let host = ManifestFixtures.hostAccepts(signed)
            switch ManifestFixtures.tiny(signed) {
            case .success(let parsed):
                #expect(host != nil, "round \(round): kit accepted what FleetTrust refuses")
                if let host { #expect(ManifestFixtures.fieldsMatch(parsed, signed, host), "round \(round)") }
                accepted += 1
            case .failure(let error):
                #expect(host == nil, "round \(round): kit refused (\(error)) what FleetTrust accepts")
            }
        }
        #expect(accepted > 20)  // mutations inside text fields or numbers stay valid
    }
}
