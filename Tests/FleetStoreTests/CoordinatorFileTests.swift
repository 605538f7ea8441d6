import Foundation
import GRDB
import Testing

@testable import FleetStore

@Suite("Coordinator database files")
struct CoordinatorFileTests {
    @Test
    func missingParentDirectoriesAreCreated() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("a/b/coordinator.sqlite")

        let store = try CoordinatorStore(path: path)
        _ = try await store.appendEvent(NewEvent(at: Dates.start, deviceID: nil, kind: "x", detail: ""))

        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test
    func everythingSurvivesCloseAndReopen() async throws {
        // Given a store with a token, an online device that heartbeated, and events
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        _ = try await writer.createToken(Fixtures.token(uses: 2, labels: ["site": "lab"]))
        _ = try await writer.enrol(device: Fixtures.device(1), tokenHash: Fixtures.hash(1), now: Dates.at(1))
        try await writer.setStatus(deviceID: "dev-1", status: .online, at: Dates.at(2), detail: nil)
        try await writer.recordHeartbeats([HeartbeatUpdate(deviceID: "dev-1", lastSeen: Dates.at(3))])
        let tokens = try await writer.tokens()
        let devices = try await writer.devices()
        let events = try await writer.events(deviceID: nil, limit: 100, afterSequence: nil)

        // When it is closed and opened again
        try await writer.close()
        let reopened = try CoordinatorStore(path: path)

        // Then everything is there, and sequences continue
        #expect(try await reopened.tokens() == tokens)
        #expect(try await reopened.devices() == devices)
        #expect(try await reopened.events(deviceID: nil, limit: 100, afterSequence: nil) == events)
        let next = try await reopened.appendEvent(NewEvent(at: Dates.at(4), deviceID: nil, kind: "x", detail: ""))
        #expect(next.sequence > (events.last?.sequence ?? 0))
    }

    @Test
    func readOnlyStoreSeesWritesWhileTheWriterIsOpen() async throws {
        // Given a writer holding the database open, and a reader opened beside it
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        try await Fixtures.enrolDevices(2, in: writer)
        let reader = try CoordinatorStore.openReadOnly(path: path)

        // Then it sees what was written before it opened
        #expect(try await reader.devices() == (try await writer.devices()))

        // When the writer goes on writing, Then the reader sees it too
        try await writer.setStatus(deviceID: "dev-1", status: .online, at: Dates.at(9), detail: nil)
        try await writer.recordHeartbeats([HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(8))])
        #expect(try await reader.device(id: "dev-1")?.status == .online)
        #expect(try await reader.device(id: "dev-0")?.lastSeen == Dates.at(8))
        #expect(try await reader.events(deviceID: "dev-1", limit: 1, afterSequence: nil).first?.kind == "online")
    }

    @Test
    func readOnlyStoreWorksWhenTheWriterIsDown() async throws {
        // Given a database whose writer has closed
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        let enrolled = try await Fixtures.enrolDevices(3, in: writer)
        try await writer.close()

        // When fleetctl opens it read-only
        let reader = try CoordinatorStore.openReadOnly(path: path)

        // Then it reads everything
        #expect(try await reader.devices().count == enrolled.count)
        #expect(try await reader.deviceCount() == 3)
    }

    @Test
    func readOnlyStoreWorksWhenTheDirectoryIsNotWritable() async throws {
        // Given a closed database in a directory the reader cannot create files in
        // (root ignores permissions, so this only proves something for other users)
        let directory = try TemporaryDirectory()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.url.path)
            directory.remove()
        }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        try await Fixtures.enrolDevices(1, in: writer)
        try await writer.close()
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.url.path)

        // When / Then
        let reader = try CoordinatorStore.openReadOnly(path: path)
        #expect(try await reader.deviceCount() == 1)
    }

    @Test
    func readOnlyStoreRefusesWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        try await Fixtures.enrolDevices(1, in: writer)
        let reader = try CoordinatorStore.openReadOnly(path: path)

        await #expect(throws: StoreError.readOnly) {
            try await reader.appendEvent(NewEvent(at: Dates.start, deviceID: nil, kind: "x", detail: ""))
        }
        await #expect(throws: StoreError.readOnly) {
            try await reader.createToken(Fixtures.token(id: "other", hashSeed: 7))
        }
        await #expect(throws: StoreError.readOnly) {
            try await reader.recordHeartbeats([HeartbeatUpdate(deviceID: "dev-0", lastSeen: Dates.at(5))])
        }
        await #expect(throws: StoreError.readOnly) {
            try await reader.markSilentOffline(seenNoLaterThan: Dates.at(5), at: Dates.at(5))
        }
        #expect(try await writer.device(id: "dev-0")?.lastSeen == nil)
    }

    @Test
    func readOnlyOpenOfAMissingFileIsNotFound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("nope/coordinator.sqlite")

        let error = #expect(throws: StoreError.notFound) {
            try CoordinatorStore.openReadOnly(path: path)
        }

        #expect(error?.message.contains(path) == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test
    func readOnlyOpenOfAnotherKindOfDatabaseIsIncompatible() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let agentPath = directory.path("agent.sqlite")
        let emptyPath = directory.path("empty.sqlite")
        try await AgentStore(path: agentPath).close()
        _ = FileManager.default.createFile(atPath: emptyPath, contents: Data())

        #expect(throws: StoreError.incompatibleSchema) {
            try CoordinatorStore.openReadOnly(path: agentPath)
        }
        #expect(throws: StoreError.incompatibleSchema) {
            try CoordinatorStore.openReadOnly(path: emptyPath)
        }
    }

    @Test
    func databaseFromANewerVersionIsReadableButNotWritable() async throws {
        // Given a database that a newer coordinator migrated further
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let store = try CoordinatorStore(path: path)
        try await Fixtures.enrolDevices(1, in: store)
        try await store.sqlWrite { connection in
            try connection.execute("INSERT INTO grdb_migrations (identifier) VALUES ('coordinator-v99')", [])
        }
        try await store.close()

        // When / Then: this version refuses to write to it, but fleetctl can still read it
        let error = #expect(throws: StoreError.incompatibleSchema) { try CoordinatorStore(path: path) }
        #expect(error?.message.contains("coordinator-v99") == true)
        #expect(try await CoordinatorStore.openReadOnly(path: path).deviceCount() == 1)
    }

    @Test
    func garbageFileIsCorrupt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data(repeating: 0x42, count: 4096),
            attributes: [.posixPermissions: 0o600]
        )

        #expect(throws: StoreError.corrupt) {
            try CoordinatorStore.openReadOnly(path: path)
        }
        #expect(throws: StoreError.corrupt) {
            try CoordinatorStore(path: path)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func invalidStoredJSONIsCorruptNotACrash(kind: StoreKind) async throws {
        try await withCoordinator(kind) { store in
            // Given a device whose labels column was damaged behind the store's back
            try await Fixtures.enrolDevices(1, in: store)
            try await store.sqlWrite { connection in
                try connection.execute(#"UPDATE "device" SET "labels" = 'not json', "status" = 'online'"#, [])
            }

            // When / Then
            await #expect(throws: StoreError.corrupt) { try await store.devices() }
            await #expect(throws: StoreError.corrupt) { try await store.device(id: "dev-0") }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func malformedDigestIsCorruptNotACrash(kind: StoreKind) async throws {
        try await withCoordinator(kind) { store in
            try await Fixtures.enrolDevices(1, in: store)
            try await store.sqlWrite { connection in
                try connection.execute(
                    #"UPDATE "device" SET "installedModels" = '[{"name":"m","version":1,"variant":"v","sha256":"zz"}]'"#,
                    []
                )
            }

            await #expect(throws: StoreError.corrupt) { try await store.devices() }
        }
    }
}
