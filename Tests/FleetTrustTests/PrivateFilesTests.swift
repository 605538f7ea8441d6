import Foundation
import Testing

@testable import FleetTrust

@Suite("Private files and directories")
struct PrivateFilesTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "private-files-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func aNewDirectoryAndItsMissingParentsAreCreatedAndTheDirectoryIsPrivate() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/a/b/data"
        #expect(try PrivateFiles.prepareDirectory(path) == nil)
        #expect(try mode(path) == 0o700)
    }

    @Test func anExistingWiderDirectoryIsTightenedNotRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/state"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        #expect(try PrivateFiles.prepareDirectory(path) == 0o755)
        #expect(try mode(path) == 0o700)
        #expect(try PrivateFiles.prepareDirectory(path) == nil)
    }

    @Test func aStickySharedDirectoryIsRefusedAndLeftAsItIs() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/tmp-like"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(chmod(path, 0o1777) == 0)
        let error = #expect(throws: TrustError.insecureFile("")) { try PrivateFiles.prepareDirectory(path) }
        #expect(error?.detail.contains("sticky") == true)
        #expect(try mode(path) == 0o1777)
    }

    @Test func aSharedOrLinkedSecretIsRefusedWithTheFix() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = root + "/agent.sqlite"
        let wal = database + "-wal"
        try PrivateFiles.createEmpty(database)
        #expect(try mode(database) == 0o600)
        try PrivateFiles.requirePrivate([database, wal], holding: "the key")  // absent -wal: nothing to refuse
        #expect(FileManager.default.createFile(atPath: wal, contents: Data(), attributes: [.posixPermissions: 0o644]))
        let shared = #expect(throws: TrustError.insecureFile("")) {
            try PrivateFiles.requirePrivate([database, wal], holding: "the key")
        }
        #expect(shared?.detail.contains("\(wal) has mode 0644") == true, "\(shared?.detail ?? "")")
        #expect(shared?.detail.contains("chmod 600 \(wal)`") == true, "\(shared?.detail ?? "")")
        try FileManager.default.removeItem(atPath: wal)
        try FileManager.default.createSymbolicLink(atPath: wal, withDestinationPath: database)
        let linked = #expect(throws: TrustError.insecureFile("")) {
            try PrivateFiles.requirePrivate([database, wal], holding: "the key")
        }
        #expect(linked?.detail.contains("\(wal) is a symbolic link") == true, "\(linked?.detail ?? "")")
    }

    @Test func theAdminCredentialIsCreatedPrivateAndASharedOneIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/admin.key"
        #expect(try AdminCredentialFile.load(path: path) == nil)
        let created = try AdminCredentialFile.loadOrCreate(path: path)
        #expect(try mode(path) == 0o600)
        #expect(try AdminCredentialFile.load(path: path)?.bytes == created.bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["admin.key"])
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let error = #expect(throws: TrustError.insecureFile("")) { try AdminCredentialFile.load(path: path) }
        #expect(error?.detail.contains("chmod 600 \(path)") == true, "\(error?.detail ?? "")")
    }
}
