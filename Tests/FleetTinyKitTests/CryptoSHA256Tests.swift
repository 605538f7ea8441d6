// TinySHA256 against FIPS 180-4 / NIST vectors and, differentially, against swift-crypto's SHA256.
import Crypto
import FleetLearning
import Testing

@testable import FleetTinyKit

@Suite struct CryptoSHA256Tests {
    private static func digest(of message: [UInt8]) -> [UInt8] {
        var hasher = TinySHA256()
        message.withUnsafeBytes { hasher.update($0) }
        return CryptoTestBytes.bytes(hasher.finalize())
    }

    @Test func nistVectors() {
        let vectors: [(message: [UInt8], digest: String)] = [
            ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for vector in vectors {
            #expect(Self.digest(of: vector.message) == CryptoTestBytes.fromHex(vector.digest))
        }
    }

    @Test func millionTimesA() {
        let expected = CryptoTestBytes.fromHex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Self.digest(of: [UInt8](repeating: 0x61, count: 1_000_000)) == expected)
        // The same in uneven pieces through update.
        var hasher = TinySHA256()
        let chunk = [UInt8](repeating: 0x61, count: 997)
        var left = 1_000_000
        while left > 0 {
            chunk[0..<min(997, left)].withUnsafeBytes { hasher.update($0) }
            left -= 997
        }
        #expect(CryptoTestBytes.bytes(hasher.finalize()) == expected)
    }

    /// 3,000 random messages of 0–2,000 bytes, each fed in up to four pieces split at random points.
    @Test func randomMessagesMatchSwiftCrypto() {
        var generator = SeededGenerator(seed: 0x5348_4132_3536)
        var hasher = TinySHA256()
        for _ in 0..<3_000 {
            let message = CryptoTestBytes.random(
                CryptoTestBytes.length(upTo: 2_000, using: &generator),
                using: &generator
            )
            let cuts = (0..<3).map { _ in CryptoTestBytes.length(upTo: message.count, using: &generator) }.sorted()
            let bounds = [0] + cuts + [message.count]
            for piece in 0..<4 { message[bounds[piece]..<bounds[piece + 1]].withUnsafeBytes { hasher.update($0) } }
            let ours = CryptoTestBytes.bytes(hasher.finalize())  // also proves finalize leaves the hasher empty
            #expect(ours == Array(SHA256.hash(data: message)), "length \(message.count), cuts \(cuts)")
        }
    }

    @Test func digestEqualityComparesEveryByte() {
        let base = TinySHA256.hash(UnsafeRawBufferPointer(start: nil, count: 0))
        var bytes = CryptoTestBytes.bytes(base)
        #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) } == base)
        for index in 0..<32 {
            bytes[index] ^= 1
            #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) } != base)
            #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) }[index] == base[index] ^ 1)
            bytes[index] ^= 1
        }
    }
}
