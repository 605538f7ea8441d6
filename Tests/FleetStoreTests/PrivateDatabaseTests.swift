import Foundation
import GRDB
import Testing

@testable import FleetStore

@Suite("Database files are private")
struct PrivateDatabaseTests {
    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func databasesInAnExisting0755DirectoryAre0600WithTheirWALAndSHM() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.url.path)
        let agentPath = directory.path("agent.sqlite")
        let agent = try AgentStore(path: agentPath)
        try await agent.setValue(Array("secret".utf8), forKey: "identity")
        let coordinatorPath = directory.path("coordinator.sqlite")
        let coordinator = try CoordinatorStore(path: coordinatorPath)
        _ = try await coordinator.appendEvent(NewEvent(at: Dates.start, deviceID: nil, kind: "x", detail: ""))
        #expect(try mode(directory.url.path) == 0o700)
        for path in [agentPath, coordinatorPath] {
            for file in [path, path + "-wal", path + "-shm"] {
                #expect(FileManager.default.fileExists(atPath: file), "\(file)")
                #expect(try mode(file) == 0o600, "\(file)")
            }
        }
    }

    @Test func aDatabaseOthersMayReadIsRefusedWithTheFix() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("agent.sqlite")
        try await AgentStore(path: path).close()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let error = #expect(throws: StoreError.insecureFile) { try AgentStore(path: path) }
        #expect(error?.message.contains("chmod 600 \(path)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("identity key") == true, "\(error?.message ?? "")")
    }
}
