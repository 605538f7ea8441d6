import Foundation
import Testing

@testable import FleetTrust

private let master = Digest.randomBytes(32)
private let context = AtRestCipher.modelContext(name: "digits-mlp", sha256: Digest.sha256([1]))
private let plaintext = (0..<(3 * 65_536 + 1_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
private let sealedChunk = 65_536 + 16

@Test func roundTripsAllSizes() throws {
    let cipher = try AtRestCipher(masterSecret: master, context: context)
    for size in [0, 1, 65_535, 65_536, 65_537, 2 * 65_536] {
        let data = Array(plaintext.prefix(size))
        let sealed = try cipher.seal(plaintext: data)
        #expect(sealed.count == 16 + size + max(1, (size + 65_535) / 65_536) * 16)
        #expect(try cipher.open(ciphertext: sealed) == data)
    }
    let sealed = try cipher.seal(plaintext: plaintext)
    #expect(try cipher.open(ciphertext: sealed) == plaintext)
    #expect(try cipher.seal(plaintext: plaintext) != sealed, "each seal uses a fresh file nonce")
}

@Test func tamperingAnyByteFails() throws {
    let cipher = try AtRestCipher(masterSecret: master, context: context)
    let sealed = try cipher.seal(plaintext: Array(plaintext.prefix(300)))
    for index in sealed.indices {
        var tampered = sealed
        tampered[index] ^= 0x01
        #expect(throws: (any Error).self) { try cipher.open(ciphertext: tampered) }
    }
}

@Test func truncationAndReorderingFail() throws {
    let cipher = try AtRestCipher(masterSecret: master, context: context)
    let sealed = try cipher.seal(plaintext: plaintext)
    // Cut at a chunk boundary: the remaining last chunk was not sealed as final.
    let cut = Array(sealed.prefix(16 + 2 * sealedChunk))
    #expect(throws: TrustError.decryptionFailed("")) { try cipher.open(ciphertext: cut) }
    #expect(throws: TrustError.decryptionFailed("")) { try cipher.open(ciphertext: Array(sealed.dropLast(1))) }
    #expect(throws: TrustError.decryptionFailed("")) { try cipher.open(ciphertext: Array(sealed.prefix(16))) }
    // Swap chunks 0 and 1.
    let first = sealed[16..<(16 + sealedChunk)]
    let second = sealed[(16 + sealedChunk)..<(16 + 2 * sealedChunk)]
    let swapped = Array(sealed.prefix(16)) + second + first + sealed[(16 + 2 * sealedChunk)...]
    #expect(throws: TrustError.decryptionFailed("")) { try cipher.open(ciphertext: swapped) }
}

@Test func wrongKeyOrContextFails() throws {
    let sealed = try AtRestCipher(masterSecret: master, context: context).seal(plaintext: Array(plaintext.prefix(500)))
    let otherKey = try AtRestCipher(masterSecret: Digest.randomBytes(32), context: context)
    #expect(throws: TrustError.decryptionFailed("")) { try otherKey.open(ciphertext: sealed) }
    let otherContext = try AtRestCipher(masterSecret: master, context: Array("other".utf8))
    #expect(throws: TrustError.decryptionFailed("")) { try otherContext.open(ciphertext: sealed) }
    #expect(throws: TrustError.invalidKey("")) { try AtRestCipher(masterSecret: [1], context: []) }
}

@Test func streamingFilesMatchInMemoryFormat() throws {
    let directory = NSTemporaryDirectory() + "atrest-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let cipher = try AtRestCipher(masterSecret: master, context: context)
    for size in [0, 65_536, plaintext.count] {
        let source = directory + "/model-\(size).bin"
        let sealedPath = source + ".sealed"
        #expect(FileManager.default.createFile(atPath: source, contents: Data(plaintext.prefix(size))))
        try cipher.sealFile(at: source, to: sealedPath)
        #expect(try cipher.openFile(at: sealedPath) == Array(plaintext.prefix(size)))
        let sealedBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sealedPath)))
        #expect(try cipher.open(ciphertext: sealedBytes) == Array(plaintext.prefix(size)))
        let mode = try FileManager.default.attributesOfItem(atPath: sealedPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
    let truncated = directory + "/truncated.sealed"
    let full = try Data(contentsOf: URL(fileURLWithPath: directory + "/model-\(plaintext.count).bin.sealed"))
    #expect(FileManager.default.createFile(atPath: truncated, contents: full.prefix(16 + sealedChunk)))
    #expect(throws: TrustError.decryptionFailed("")) { try cipher.openFile(at: truncated) }
}
