// Helpers of the crypto tests: hex vectors and seeded random bytes.
import FleetLearning
import FleetTrust

@testable import FleetTinyKit

enum CryptoTestBytes {
    /// The bytes of a hex string (whitespace ignored); a malformed vector stops the test run.
    static func fromHex(_ hex: String) -> [UInt8] {
        let digits = String(hex.filter { $0 != " " && $0 != "\n" })
        guard let bytes = Digest.bytes(hex: digits) else { preconditionFailure("not hex: \(hex)") }
        return bytes
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
