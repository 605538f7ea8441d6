// TinySHA256 and TinySHA512 against FIPS 180-4 / NIST vectors and, differentially, against swift-crypto.
import Crypto
import FleetLearning
import Testing

@testable import FleetTinyKit

/// What the tests need of a tiny hasher and of swift-crypto's twin.
private struct HashUnderTest: Sendable {
    let name: String
    let ours: @Sendable ([ArraySlice<UInt8>]) -> [UInt8]
    let reference: @Sendable ([UInt8]) -> [UInt8]

    static let sha256 = HashUnderTest(
        name: "SHA-256",
        ours: { pieces in
            var hasher = TinySHA256()
            for piece in pieces { piece.withUnsafeBytes { hasher.update($0) } }
            return CryptoTestBytes.bytes(hasher.finalize())
        },
        reference: { Array(SHA256.hash(data: $0)) }
    )
    static let sha512 = HashUnderTest(
        name: "SHA-512",
        ours: { pieces in
            var hasher = TinySHA512()
            for piece in pieces { piece.withUnsafeBytes { hasher.update($0) } }
            return CryptoTestBytes.bytes(hasher.finalize())
        },
        reference: { Array(SHA512.hash(data: $0)) }
    )
}

@Suite struct CryptoSHATests {
    private static let nist448 = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)

    @Test func sha256NISTVectors() {
        let vectors: [(message: [UInt8], digest: String)] = [
            ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Self.nist448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (
                [UInt8](repeating: 0x61, count: 1_000_000),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
            ),
        ]
        for vector in vectors {
            #expect(HashUnderTest.sha256.ours([vector.message[...]]) == CryptoTestBytes.fromHex(vector.digest))
        }
    }

    @Test func sha512NISTVectors() {
        let vectors: [(message: [UInt8], digest: String)] = [
            (
                [],
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                    + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
            ),
            (
                Array("abc".utf8),
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                    + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            ),
            (
                Self.nist448,
                "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
                    + "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"
            ),
            (
                [UInt8](repeating: 0x61, count: 1_000_000),
                "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                    + "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
            ),
        ]
        for vector in vectors {
            #expect(HashUnderTest.sha512.ours([vector.message[...]]) == CryptoTestBytes.fromHex(vector.digest))
        }
    }

    /// A million 'a' fed in 997-byte pieces: every buffered offset is crossed.
    @Test(arguments: [HashUnderTest.sha256, HashUnderTest.sha512])
    private func millionTimesAInPieces(hash: HashUnderTest) {
        let message = [UInt8](repeating: 0x61, count: 1_000_000)
        let pieces = stride(from: 0, to: message.count, by: 997).map { message[$0..<min($0 + 997, message.count)] }
        #expect(hash.ours(pieces) == hash.reference(message), "\(hash.name)")
    }

    /// 2,000 random messages of 0–2,000 bytes, each fed in four pieces split at random points (empty pieces too).
    @Test(arguments: [HashUnderTest.sha256, HashUnderTest.sha512])
    private func randomMessagesMatchSwiftCrypto(hash: HashUnderTest) {
        var generator = SeededGenerator(seed: 0x5348_4132_3536)
        for _ in 0..<2_000 {
            let message = CryptoTestBytes.random(
                CryptoTestBytes.length(upTo: 2_000, using: &generator),
                using: &generator
            )
            let cuts = (0..<3).map { _ in CryptoTestBytes.length(upTo: message.count, using: &generator) }.sorted()
            let bounds = [0] + cuts + [message.count]
            let pieces = (0..<4).map { message[bounds[$0]..<bounds[$0 + 1]] }
            #expect(hash.ours(pieces) == hash.reference(message), "\(hash.name) length \(message.count) cuts \(cuts)")
        }
    }

    /// After finalize the hasher is empty again: a second message hashes as if it were the first.
    @Test func finalizeStartsAgain() {
        var hasher = TinySHA512()
        Array("first".utf8).withUnsafeBytes { hasher.update($0) }
        _ = hasher.finalize()
        Array("abc".utf8).withUnsafeBytes { hasher.update($0) }
        #expect(CryptoTestBytes.bytes(hasher.finalize()) == Array(SHA512.hash(data: Array("abc".utf8))))
    }

    @Test func digestEqualityComparesEveryByte() {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let short = TinySHA256.hash(empty)
        var bytes = CryptoTestBytes.bytes(short)
        #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) } == short)
        for index in 0..<32 {
            bytes[index] ^= 1
            #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) } != short)
            #expect(bytes.withUnsafeBytes { TinyDigest32(bytes: $0) }[index] == short[index] ^ 1)
            bytes[index] ^= 1
        }
        let long = TinySHA512.hash(empty)
        var longBytes = CryptoTestBytes.bytes(long)
        for index in 0..<64 {
            longBytes[index] ^= 0x80
            #expect(longBytes.withUnsafeBytes { TinyDigest64(bytes: $0) } != long)
            longBytes[index] ^= 0x80
        }
        #expect(longBytes.withUnsafeBytes { TinyDigest64(bytes: $0) } == long)
    }
}
