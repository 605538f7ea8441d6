// TinyEd25519 against RFC 8032's vectors and, differentially, against swift-crypto's Curve25519.Signing (BoringSSL
// on Linux): same public keys, same deterministic signatures byte for byte, and the same verdict on every valid,
// malformed, non-canonical or small-order input.
import Crypto
import FleetLearning
import Foundation
import Testing

@testable import FleetTinyKit

@Suite struct CryptoEd25519Tests {
    private struct RFCVector: Decodable {
        let name, seed, publicKey, message, signature: String
    }

    private struct RFCVectors: Decodable { let vectors: [RFCVector] }

    /// RFC 8032 section 7.1: TEST 1, 2, 3, 1024 and SHA(abc).
    @Test func rfc8032Vectors() throws {
        let vectors = try JSONDecoder().decode(RFCVectors.self, from: CryptoTestBytes.fixture("rfc8032-ed25519.json"))
        #expect(vectors.vectors.map(\.name) == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"])
        for vector in vectors.vectors {
            let seed = CryptoTestBytes.fromHex(vector.seed)
            let message = CryptoTestBytes.fromHex(vector.message)
            let publicKey = TinySigner.publicKey(seed: seed)
            let signature = TinySigner.sign(message, seed: seed, publicKey: publicKey)
            #expect(publicKey == CryptoTestBytes.fromHex(vector.publicKey), "\(vector.name)")
            #expect(signature == CryptoTestBytes.fromHex(vector.signature), "\(vector.name)")
            #expect(TinySigner.verify(signature, message, publicKey), "\(vector.name)")
        }
    }

    /// 300 random seeds and messages of 0–1,500 bytes: the public key and the signature are swift-crypto's byte for
    /// byte, each side verifies the other's signature, and a one-byte change of the message is refused by both.
    @Test func randomKeysAndMessagesMatchSwiftCrypto() throws {
        var generator = SeededGenerator(seed: 0xED25_5190)
        for round in 0..<300 {
            let seed = CryptoTestBytes.random(32, using: &generator)
            var message = CryptoTestBytes.random(
                CryptoTestBytes.length(upTo: 1_500, using: &generator),
                using: &generator
            )
            let publicKey = TinySigner.publicKey(seed: seed)
            #expect(publicKey == (try ReferenceSigner.publicKey(seed: seed)), "round \(round)")
            let signature = TinySigner.sign(message, seed: seed, publicKey: publicKey)
            #expect(signature == (try ReferenceSigner.sign(message, seed: seed)), "round \(round)")
            #expect(TinySigner.verify(signature, message, publicKey), "round \(round)")
            #expect(ReferenceSigner.verify(signature, message, publicKey), "round \(round)")
            guard !message.isEmpty else { continue }
            message[Int(generator.next() % UInt64(message.count))] ^= 0x01
            #expect(!TinySigner.verify(signature, message, publicKey), "round \(round)")
            #expect(!ReferenceSigner.verify(signature, message, publicKey), "round \(round)")
        }
    }

    /// Every one of the 512 single-bit flips of two valid signatures, and of the 256 of their public keys: the
    /// kit's verdict is swift-crypto's each time (2 x 768 cases; a flip of S's top bits gives S >= L).
    @Test func singleBitFlipsMatchSwiftCrypto() {
        var generator = SeededGenerator(seed: 0xF11B)
        var accepted = 0
        for _ in 0..<2 {
            let seed = CryptoTestBytes.random(32, using: &generator)
            let message = CryptoTestBytes.random(40, using: &generator)
            let publicKey = TinySigner.publicKey(seed: seed)
            let signature = TinySigner.sign(message, seed: seed, publicKey: publicKey)
            // Bits 0 ..< 512 flip the signature, 512 ..< 768 the public key.
            for bit in 0..<(96 * 8) {
                var flipped = signature + publicKey
                flipped[bit / 8] ^= 1 << UInt8(bit % 8)
                let (badSignature, badKey) = (Array(flipped[0..<64]), Array(flipped[64...]))
                let ours = TinySigner.verify(badSignature, message, badKey)
                #expect(ours == ReferenceSigner.verify(badSignature, message, badKey), "bit \(bit)")
                accepted += ours ? 1 : 0
            }
        }
        #expect(accepted == 0)
    }

    /// S + L for valid signatures (same S modulo L, so a verifier without the S < L rule would accept): both refuse.
    @Test func scalarAtOrAboveOrderIsRefused() {
        var generator = SeededGenerator(seed: 0x5C_A1A4)
        for _ in 0..<5 {
            let seed = CryptoTestBytes.random(32, using: &generator)
            let message = CryptoTestBytes.random(16, using: &generator)
            let publicKey = TinySigner.publicKey(seed: seed)
            let signature = TinySigner.sign(message, seed: seed, publicKey: publicKey)
            let malleated = Array(signature[0..<32]) + Ed25519Cases.addingOrder(Array(signature[32...]))
            #expect(TinySigner.verify(signature, message, publicKey))
            #expect(!TinySigner.verify(malleated, message, publicKey))
            #expect(!ReferenceSigner.verify(malleated, message, publicKey))
            let exactlyOrder = Array(signature[0..<32]) + Ed25519Cases.order
            #expect(!TinySigner.verify(exactlyOrder, message, publicKey))
            #expect(!ReferenceSigner.verify(exactlyOrder, message, publicKey))
        }
    }

    /// Small-order, non-canonical (y >= p), x = 0 with the sign bit, all-zero and all-ones public keys, each with
    /// signatures forged to be valid under it where it decodes, with random ones, with all-zero and all-ones
    /// signatures, and with small-order and non-canonical R and S = 0: the kit agrees with swift-crypto on every
    /// case, and both accept the forged ones (so the cases are not all refusals).
    @Test func oddPublicKeysMatchSwiftCrypto() {
        var generator = SeededGenerator(seed: 0x0DD_4E75)
        let message = Array("release manifest".utf8)
        let keys =
            Ed25519Cases.smallOrderPoints + Ed25519Cases.nonCanonicalEncodings + Ed25519Cases.zeroXWithSignBit
            + [Ed25519Cases.allZero, Ed25519Cases.allOnes]
        // R: the small-order points, the non-canonical encodings of the neutral point and of the point of order 4
        // (y = p + 1 and y = p, both signs), and x = 0 written with the sign bit.
        let oddRs =
            Ed25519Cases.smallOrderPoints + Ed25519Cases.nonCanonicalEncodings.prefix(4)
            + Ed25519Cases.zeroXWithSignBit
        var forged = 0
        var cases = 0
        var accepted = 0
        for (keyIndex, key) in keys.enumerated() {
            var signatures = [
                Ed25519Cases.allZero + Ed25519Cases.allZero, Ed25519Cases.allOnes + Ed25519Cases.allOnes,
                CryptoTestBytes.random(32, using: &generator) + Ed25519Cases.allZero,
            ]
            signatures += oddRs.map { $0 + Ed25519Cases.allZero }
            if let valid = Ed25519Cases.forge(publicKey: key, message: message, using: &generator) {
                #expect(ReferenceSigner.verify(valid, message, key), "forged under key \(keyIndex)")
                signatures.append(valid)
                forged += 1
            }
            for (index, signature) in signatures.enumerated() {
                let ours = TinySigner.verify(signature, message, key)
                #expect(ours == ReferenceSigner.verify(signature, message, key), "key \(keyIndex) signature \(index)")
                cases += 1
                accepted += ours ? 1 : 0
            }
        }
        // A forgery exists for each small-order key: the 8 canonical ones, the x = 0 ones with the sign bit (2),
        // the all-zero key, and the non-canonical y = p + 0 and p + 1 with either sign bit (4).
        #expect(forged == Ed25519Cases.smallOrderPoints.count + 2 + 1 + 4)
        #expect(accepted > forged)  // S = 0 with R = -[k]A also passes for some small-order keys
        #expect(cases == keys.count * (3 + oddRs.count) + forged)
    }

    /// The small-order list is what it says: each point decodes and eight times it is the neutral point.
    @Test func smallOrderPointsHaveOrderDividingEight() throws {
        let neutral = Ed25519Cases.encode(.neutral)
        for encoding in Ed25519Cases.smallOrderPoints {
            let point = try #require(Ed25519Cases.point(encoding))
            #expect(Ed25519Cases.encode(point) == encoding)
            var eightTimes = point
            for _ in 0..<3 { eightTimes.doubleInPlace() }
            #expect(Ed25519Cases.encode(eightTimes) == neutral)
        }
    }

    private struct Wycheproof: Decodable {
        struct Group: Decodable {
            struct Key: Decodable { let pk: String }
            struct Case: Decodable { let tcId: Int, msg, sig, result: String }
            let publicKey: Key
            let tests: [Case]
        }
        let testGroups: [Group]
    }

    /// Wycheproof's 150 Ed25519 cases (swift-crypto's copy: malleability, non-canonical and small-order R and keys,
    /// truncated and overlong signatures): the kit's verdict is swift-crypto's on each.
    @Test func wycheproofCasesMatchSwiftCrypto() throws {
        let suite = try JSONDecoder().decode(Wycheproof.self, from: CryptoTestBytes.fixture("wycheproof-ed25519.json"))
        var count = 0
        for group in suite.testGroups {
            let key = CryptoTestBytes.fromHex(group.publicKey.pk)
            for test in group.tests {
                let signature = CryptoTestBytes.fromHex(test.sig)
                let message = CryptoTestBytes.fromHex(test.msg)
                let ours = TinySigner.verify(signature, message, key)
                #expect(ours == ReferenceSigner.verify(signature, message, key), "tcId \(test.tcId)")
                #expect(ours == (test.result == "valid"), "tcId \(test.tcId) expected \(test.result)")
                count += 1
            }
        }
        #expect(count == 150)
    }

    /// Sizes other than 64 and 32 bytes are invalid, not a crash.
    @Test func wrongSizesAreInvalid() {
        let seed = [UInt8](repeating: 7, count: 32)
        let publicKey = TinySigner.publicKey(seed: seed)
        let signature = TinySigner.sign([], seed: seed, publicKey: publicKey)
        #expect(TinySigner.verify(signature, [], publicKey))
        #expect(!TinySigner.verify(Array(signature.dropLast()), [], publicKey))
        #expect(!TinySigner.verify(signature + [0], [], publicKey))
        #expect(!TinySigner.verify(signature, [], Array(publicKey.dropLast())))
        #expect(!TinySigner.verify([], [], []))
    }
}
