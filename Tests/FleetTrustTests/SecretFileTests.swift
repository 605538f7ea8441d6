import Foundation
import Testing

@testable import FleetTrust

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "fleettrust-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Test func releaseKeyFileIsCreatedOnceWithMode0600() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/release.key"
    let first = try ReleaseKeyFile.loadOrCreate(path: path)
    let second = try ReleaseKeyFile.loadOrCreate(path: path)
    #expect(first.publicKey == second.publicKey)
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["release.key"])
}

@Test func groupOrWorldReadableKeyFileIsRefused() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/release.key"
    _ = try ReleaseKeyFile.loadOrCreate(path: path)
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    #expect(throws: TrustError.insecureFile("")) { try ReleaseKeyFile.loadOrCreate(path: path) }
    try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
    #expect(throws: TrustError.insecureFile("")) { try MasterSecretFile.loadOrCreate(path: path) }
    let link = directory + "/link.key"
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
    #expect(throws: TrustError.insecureFile("")) { try ReleaseKeyFile.loadOrCreate(path: link) }
}

@Test func wrongSizedSecretFileIsRefused() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/master.secret"
    #expect(
        FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]), attributes: [.posixPermissions: 0o600])
    )
    #expect(throws: TrustError.invalidKey("")) { try MasterSecretFile.loadOrCreate(path: path) }
    let fresh = try MasterSecretFile.loadOrCreate(path: directory + "/fresh.secret")
    #expect(fresh.count == 32)
    #expect(try MasterSecretFile.loadOrCreate(path: directory + "/fresh.secret") == fresh)
}
