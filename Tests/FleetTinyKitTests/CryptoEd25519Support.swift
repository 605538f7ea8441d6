// Array-shaped calls of TinyEd25519 and of swift-crypto's Curve25519.Signing (BoringSSL on Linux), and forging of
// valid signatures under small-order keys, for the Ed25519 tests.
import Crypto
import FleetLearning
import Foundation

@testable import FleetTinyKit

enum TinySigner {
    static func publicKey(seed: [UInt8]) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        seed.withUnsafeBytes { seed in key.withUnsafeMutableBytes { TinyEd25519.publicKey(seed: seed, into: $0) } }
        return key
    }

    static func sign(_ message: [UInt8], seed: [UInt8], publicKey: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        message.withUnsafeBytes { message in
            seed.withUnsafeBytes { seed in
                publicKey.withUnsafeBytes { key in
                    signature.withUnsafeMutableBytes {
                        TinyEd25519.sign(message: message, seed: seed, publicKey: key, into: $0)
                    }
                }
            }
        }
        return signature
    }

    static func verify(_ signature: [UInt8], _ message: [UInt8], _ publicKey: [UInt8]) -> Bool {
        signature.withUnsafeBytes { signature in
            message.withUnsafeBytes { message in
                publicKey.withUnsafeBytes {
                    TinyEd25519.verify(signature: signature, message: message, publicKey: $0)
                }
            }
        }
    }
}

/// swift-crypto, the oracle.
enum ReferenceSigner {
    static func publicKey(seed: [UInt8]) throws -> [UInt8] {
        Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation)
    }

    static func sign(_ message: [UInt8], seed: [UInt8]) throws -> [UInt8] {
        Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: message))
    }

    static func verify(_ signature: [UInt8], _ message: [UInt8], _ publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// Curve facts the malformed-input tests build on, computed with the kit's internals and checked by the oracle.
enum Ed25519Cases {
    /// L, little-endian.
    static let order = CryptoTestBytes.fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

    /// The eight points of order dividing 8, canonically encoded (both signs of x where x is not 0).
    static let smallOrderPoints = [
        "0100000000000000000000000000000000000000000000000000000000000000",  // neutral
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // order 2
        "0000000000000000000000000000000000000000000000000000000000000000",  // order 4
        "0000000000000000000000000000000000000000000000000000000000000080",  // order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  // order 8
    ].map(CryptoTestBytes.fromHex)

    /// Every encoding whose y is p ... 2^255 - 1 (y - p is 0 ... 18), each with bit 255 clear and set: 38 byte
    /// strings that are not canonical.
    static let nonCanonicalEncodings: [[UInt8]] = (0..<19).flatMap { offset -> [[UInt8]] in
        // p + offset = 2^255 - 19 + offset, little-endian.
        var bytes = [UInt8](repeating: 0xff, count: 32)
        bytes[0] = UInt8(0xed + offset)
        bytes[31] = 0x7f
        var signed = bytes
        signed[31] |= 0x80
        return [bytes, signed]
    }

    /// x = 0 written with the sign bit set (the neutral point and the point of order 2).
    static let zeroXWithSignBit = [
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ].map(CryptoTestBytes.fromHex)

    static let allZero = [UInt8](repeating: 0, count: 32)
    static let allOnes = [UInt8](repeating: 0xff, count: 32)

    /// S + L (a signature scalar at or above L that is congruent to S).
    static func addingOrder(_ scalar: [UInt8]) -> [UInt8] {
        var carry = 0
        return (0..<32).map { index in
            let sum = Int(scalar[index]) + Int(order[index]) + carry
            carry = sum >> 8
            return UInt8(truncatingIfNeeded: sum)
        }
    }

    /// The point an encoding names, as the kit decodes it.
    static func point(_ encoding: [UInt8]) -> EdwardsPoint? {
        encoding.withUnsafeBytes { EdwardsPoint(decoding: $0.baseAddress!) }
    }

    static func encode(_ point: EdwardsPoint) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { point.encode(into: $0.baseAddress!) }
        return bytes
    }

    /// [n] P for a small n, by additions.
    static func small(_ n: Int, _ point: EdwardsPoint) -> EdwardsPoint {
        var sum = EdwardsPoint.neutral
        for _ in 0..<n { sum.add(point) }
        return sum
    }

    /// A signature (R, S) of `message` valid under `publicKey` if it is a small-order key (as it is encoded, canonical or
    /// not): S = r and R = [r] B - [j] A where j = k mod 8 works out for k = SHA-512(R || A || M) mod L; nil for a key
    /// that does not decode to a point of order dividing 8, or when no nonce among 16 gives such a j.
    static func forge(publicKey: [UInt8], message: [UInt8], using generator: inout SeededGenerator) -> [UInt8]? {
        guard let a = point(publicKey), encode(small(8, a)) == encode(.neutral) else { return nil }
        for _ in 0..<16 {
            var r = [UInt8](repeating: 0, count: 32)
            let wide = CryptoTestBytes.random(64, using: &generator)
            wide.withUnsafeBytes { wide in
                r.withUnsafeMutableBytes { Scalar25519.reduce(wide.baseAddress!, into: $0.baseAddress!) }
            }
            let rB = r.withUnsafeBytes { EdwardsPoint.multiply(.base, byScalar: $0.baseAddress!) }
            for j in 0..<8 {
                var rMinusJA = rB
                rMinusJA.add(-small(j, a))
                let encodedR = encode(rMinusJA)
                let wideK = Array(SHA512.hash(data: encodedR + publicKey + message))
                var k = [UInt8](repeating: 0, count: 32)
                wideK.withUnsafeBytes { wide in
                    k.withUnsafeMutableBytes { Scalar25519.reduce(wide.baseAddress!, into: $0.baseAddress!) }
                }
                if encode(small(Int(k[0] & 7), a)) == encode(small(j, a)) { return encodedR + r }
            }
        }
        return nil
    }
}

extension CryptoTestBytes {
    /// The JSON fixture `name` of this test target.
    static func fixture(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name)"])
        }
        return try Data(contentsOf: url)
    }
}
