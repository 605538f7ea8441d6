// Helpers of the crypto tests: hex vectors and seeded random bytes.
import FleetLearning

@testable import FleetTinyKit

enum CryptoTestBytes {
    /// The bytes of a hex string (whitespace ignored); a malformed vector stops the test run.
    static func fromHex(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != 0x20 && $0 != 0x0a })
        precondition(digits.count % 2 == 0, "odd hex length")
        return stride(from: 0, to: digits.count, by: 2).map { index in
            UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
        }
    }

    /// `count` bytes from `generator`.
    static func random(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { out in
            var offset = 0
            while offset < count {
                let word = generator.next()
                let taken = min(8, count - offset)
                withUnsafeBytes(of: word) { out[offset..<offset + taken].copyBytes(from: $0[0..<taken]) }
                offset += 8
            }
        }
        return bytes
    }

    /// A length in `0...maximum` from `generator`.
    static func length(upTo maximum: Int, using generator: inout SeededGenerator) -> Int {
        Int(generator.next() % UInt64(maximum + 1))
    }

    /// The bytes of a digest.
    static func bytes(_ digest: TinyDigest32) -> [UInt8] { digest.withUnsafeBytes { Array($0) } }
    static func bytes(_ digest: TinyDigest64) -> [UInt8] { digest.withUnsafeBytes { Array($0) } }
}
