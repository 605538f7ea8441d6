import Foundation
import GRDB
import Testing

@testable import FleetStore

@Suite("coordinator-v2 migration and read-only access")
struct CoordinatorV2MigrationTests {
    /// A database as the shipped v1 coordinator left it: only "coordinator-v1", one token, one device that
    /// reported kws v1 installed, one event.
    private func makeV1Database(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("coordinator-v1", migrate: CoordinatorV1.migrate)
        try migrator.migrate(queue)
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO "enrolmentToken" ("id", "secretHash", "usesTotal", "usesLeft", "labels", "createdAt")
                    VALUES ('tok-1', ?, 2, 1, '{"site":"lab"}', 1700000000000);
                    INSERT INTO "device" ("id", "name", "publicKey", "labels", "capabilities", "agentVersion",
                        "installedModels", "status", "lastSeen", "enrolledAt", "tokenID")
                    VALUES ('dev-1', 'sensor', ?, '{"site":"lab"}', '{"arch":"arm64"}', '1.0.0',
                        '[{"name":"kws","sha256":"00ff","variant":"int8","version":1}]', 'offline',
                        1700000005000, 1700000001000, 'tok-1');
                    INSERT INTO "event" ("at", "deviceID", "kind", "detail")
                    VALUES (1700000001000, 'dev-1', 'enrolled', 'token tok-1');
                    """,
                arguments: [Data(Fixtures.hash(1)), Data(Fixtures.publicKey(1))]
            )
        }
        try queue.close()
        // A database other local users may read is refused (`PrivateDatabaseTests`); the v1 file is private.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    @Test
    func v1DatabaseIsMigratedWithItsDataKept() async throws {
        // Given a v1-only database file
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        try makeV1Database(at: path)

        // Then this version's read-only opener refuses it until a writer migrates it
        #expect(throws: StoreError.incompatibleSchema) { try CoordinatorStore.openReadOnly(path: path) }

        // When the new store opens it
        let store = try CoordinatorStore(path: path)

        // Then the v1 data is intact
        let device = try #require(try await store.device(id: "dev-1"))
        #expect(device.name == "sensor")
        #expect(device.labels == ["site": "lab"])
        #expect(
            device.installedModels == [
                InstalledModelRecord(name: "kws", version: 1, variant: "int8", sha256: [0, 255])
            ]
        )
        #expect(device.lastSeen == Dates.at(5))
        #expect(try await store.tokens().map(\.usesLeft) == [1])
        #expect(try await store.events(deviceID: nil, limit: 10, afterSequence: nil).map(\.kind) == ["enrolled"])

        // And the v2 tables exist and work
        let (tables, applied) = try await #require(store.sqlite).read { db in
            (
                try ["modelVariant", "modelAssignment", "modelTransfer", "deltaCache"].filter {
                    try db.tableExists($0)
                },
                try CoordinatorMigrator.make().appliedIdentifiers(db)
            )
        }
        #expect(tables.count == 4)
        #expect(Set(applied).isSuperset(of: ["coordinator-v1", "coordinator-v2", "coordinator-v3"]))
        try await ModelFixtures.push(
            [ModelFixtures.variant("kws", 1, "int8"), ModelFixtures.variant("kws", 2, "int8")],
            to: store
        )
        try await store.setAssignment(ModelFixtures.assignment("dev-1", "kws", 2, "int8"))
        // the version the v1 device reports keeps v1 from being pruned
        #expect(try await store.pruneModelVersions(model: "kws", keep: 1).isEmpty)
        let pushed = try await store.events(deviceID: nil, limit: 10, afterSequence: nil)
        #expect(pushed.map(\.kind) == ["enrolled", "model_pushed", "model_pushed", "assigned"])
        try await store.close()

        // And reopening it migrates nothing more
        let reopened = try CoordinatorStore(path: path)
        #expect(try await reopened.models().map(\.name) == ["kws"])
        #expect(try await reopened.device(id: "dev-1") == device)
    }

    @Test
    func readOnlyStoreReadsTheModelTablesAndRefusesWrites() async throws {
        // Given a writer with a registry, an assignment, a transfer and a cached delta
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("coordinator.sqlite")
        let writer = try CoordinatorStore(path: path)
        try await Fixtures.enrolDevices(1, in: writer)
        try await ModelFixtures.push(
            [ModelFixtures.variant("kws", 1, "int8"), ModelFixtures.variant("kws", 2, "int8")],
            to: writer
        )
        try await writer.setAssignment(ModelFixtures.assignment("dev-0", "kws", 2, "int8"))
        let transfer = try await writer.recordTransfer(ModelFixtures.transfer("dev-0", "kws", 2))
        let delta = DeltaCacheRecord(
            fromSHA256: ModelFixtures.digest("kws/1/int8"),
            toSHA256: ModelFixtures.digest("kws/2/int8"),
            encoding: "xor-zlib",
            path: "deltas/1-2",
            size: 10,
            payloadSHA256: ModelFixtures.digest("payload"),
            createdAt: Dates.at(3)
        )
        try await writer.storeCachedDelta(delta)

        // When fleetctl opens it read-only
        let reader = try CoordinatorStore.openReadOnly(path: path)

        // Then it reads everything
        #expect(try await reader.models() == (try await writer.models()))
        #expect(try await reader.modelVariants(model: "kws") == (try await writer.modelVariants(model: "kws")))
        #expect(try await reader.assignments(model: "kws").map(\.version) == [2])
        #expect(try await reader.transfers(deviceID: "dev-0", model: nil) == [transfer])
        #expect(try await reader.cachedDelta(fromSHA256: delta.fromSHA256, toSHA256: delta.toSHA256) == delta)

        // And refuses every write
        await #expect(throws: StoreError.readOnly) {
            try await reader.addModelVariant(ModelFixtures.variant("kws", 3, "int8"))
        }
        await #expect(throws: StoreError.readOnly) {
            try await reader.setAssignment(ModelFixtures.assignment("dev-0", "kws", 1, "int8"))
        }
        await #expect(throws: StoreError.readOnly) {
            try await reader.recordTransfer(ModelFixtures.transfer("dev-0", "kws", 2))
        }
        await #expect(throws: StoreError.readOnly) { try await reader.storeCachedDelta(delta) }
        await #expect(throws: StoreError.readOnly) { try await reader.pruneModelVersions(model: "kws", keep: 1) }
        #expect(try await writer.modelVariants(model: "kws").count == 2)
    }
}
