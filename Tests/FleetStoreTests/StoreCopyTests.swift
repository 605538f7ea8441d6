import FleetStorePostgres
import Foundation
import PostgresTestSupport
import Testing

@testable import FleetStore

/// The copy of a SQLite coordinator store into PostgreSQL behind `fleetctl migrate` (issue 12, item 3): every
/// table, verified by row counts and hashes computed the same way on both engines, in one transaction that a
/// failure rolls back to an empty target.
@Suite("Store copy")
struct StoreCopyTests {
    /// The tables the issue names: devices and their keys, enrolment and API tokens, models, rounds, consent,
    /// samples, events.
    static let namedTables = [
        "device", "enrolmentToken", "apiToken", "modelVariant", "round", "consentRecord", "sampleBatch", "event",
    ]

    /// A SQLite store on disk with rows in every table the issue names (and the rows those write elsewhere).
    static func populate(_ store: CoordinatorStore) async throws {
        try await Fixtures.enrolDevices(2, in: store)
        _ = try await store.createToken(Fixtures.token(id: "spare", hashSeed: 3, uses: 4, labels: ["site": "lab"]))
        _ = try await store.createAPIToken(
            NewAPIToken(
                id: "a-0001",
                secretHash: Fixtures.hash(9),
                scope: "read",
                createdAt: Dates.at(0),
                expiresAt: nil
            )
        )
        _ = try await ModelFixtures.push([ModelFixtures.variant("kws", 1, "int8", size: 48)], to: store)
        _ = try await store.startRound(
            model: "kws",
            variant: "int8",
            baseVersion: 1,
            strategy: "fedavg",
            settings: ["lr": "0.1"],
            seed: UInt64.max,
            at: Dates.at(2)
        )
        try await store.appendConsentRecord(
            ObservabilityStoreTests.consent(1, "grant"),
            after: nil,
            eraseSamples: false
        )
        _ = try await store.insertSampleBatch(
            ObservabilityStoreTests.batch("a", rows: 5),
            maximumRowsPerDevice: 10,
            grantInForce: ObservabilityStoreTests.lastGrant
        )
        for index in 0..<30 {
            _ = try await store.appendEvent(
                NewEvent(at: Dates.at(Double(index)), deviceID: "dev-0", kind: "note", detail: "événement \(index)")
            )
        }
    }

    /// A populated SQLite store on disk, and a fresh PostgreSQL one (migrated, empty).
    static func withSourceAndTarget<T>(_ body: (CoordinatorStore, CoordinatorStore) async throws -> T) async throws -> T
    {
        try await withCoordinator(StoreKind.file) { source in
            try await populate(source)
            return try await withPostgresCoordinator { target in try await body(source, target) }
        }
    }

    static func rowCounts(_ store: CoordinatorStore) async throws -> [String: Int64] {
        let tables = try await store.sqlRead { try StoreTable.postgresSchema($0) }
        return try await store.sqlRead { connection in
            try Dictionary(
                uniqueKeysWithValues: tables.map { table in
                    (table.name, try connection.queryInt(#"SELECT count(*) FROM "\#(table.name)""#, []) ?? -1)
                }
            )
        }
    }

    @Test func everyTableIsCopiedAndVerifiedAndTheStoreReadsTheSame() async throws {
        try await Self.withSourceAndTarget { source, target in
            let copied = try await source.copy(into: target, batchSize: 7)
            #expect(copied.map(\.name).sorted() == PostgresBackendTests.tables.sorted())
            #expect(copied.allSatisfy { $0.verified }, "\(copied.filter { !$0.verified })")
            let rows = Dictionary(uniqueKeysWithValues: copied.map { ($0.name, $0.target.rows) })
            for table in Self.namedTables {
                #expect((rows[table] ?? 0) > 0, "\(table) has rows: \(rows)")
            }
            #expect(rows["event"] ?? 0 > 7, "more events than one batch: \(rows)")

            // The store's own reads give the same records on both.
            #expect(try await target.devices() == source.devices())
            #expect(try await target.tokens() == source.tokens())
            #expect(try await target.apiTokens() == source.apiTokens())
            #expect(try await target.events(after: 0, limit: 1000) == source.events(after: 0, limit: 1000))
            #expect(try await target.allConsentRecords() == source.allConsentRecords())
            #expect(try await target.rounds(model: nil) == source.rounds(model: nil))

            // The identity sequences continue after the copied ids: a new event takes the next number.
            let last = try #require(try await source.events(after: 0, limit: 1000).last)
            let next = try await target.appendEvent(
                NewEvent(at: Dates.at(99), deviceID: nil, kind: "fleet", detail: "x")
            )
            #expect(next.sequence == last.sequence + 1)

            // Verified again later: the same digests.
            let again = try await source.verifyCopy(in: target)
            #expect(again.filter { $0.name != "event" }.allSatisfy { $0.verified })
            #expect(again.first { $0.name == "event" }.map { $0.target.rows == $0.source.rows + 1 } == true)
        }
    }

    @Test func aRowAlteredOnTheTargetFailsVerificationOfItsTableOnly() async throws {
        try await Self.withSourceAndTarget { source, target in
            _ = try await source.copy(into: target)
            _ = try await target.sqlWrite { connection in
                try connection.execute(#"UPDATE "device" SET "name" = 'renamed' WHERE "id" = 'dev-1'"#, [])
            }
            let verified = try await source.verifyCopy(in: target)
            let device = try #require(verified.first { $0.name == "device" })
            #expect(!device.verified)
            #expect(device.source.rows == device.target.rows, "same count, different hash")
            #expect(device.source.sha256 != device.target.sha256)
            #expect(verified.filter { $0.name != "device" }.allSatisfy { $0.verified })
        }
    }

    @Test func aFailureMidCopyLeavesTheTargetEmpty() async throws {
        try await Self.withSourceAndTarget { source, target in
            // sampleBatch comes after nine other tables: they are inserted, then this refuses the source's row.
            _ = try await target.sqlWrite { connection in
                try connection.execute(
                    #"ALTER TABLE "sampleBatch" ADD CONSTRAINT "refusesEverything" CHECK ("rowCount" < 0)"#,
                    []
                )
            }
            await #expect(throws: StoreError.self) { try await source.copy(into: target) }
            let counts = try await Self.rowCounts(target)
            #expect(counts.count == PostgresBackendTests.tables.count)
            #expect(counts.values.allSatisfy { $0 == 0 }, "\(counts.filter { $0.value != 0 })")
        }
    }

    @Test func aTargetHoldingAFleetIsRefusedAndKept() async throws {
        try await Self.withSourceAndTarget { source, target in
            _ = try await target.createToken(Fixtures.token(id: "theirs", hashSeed: 77))
            await #expect(throws: StoreError.targetNotEmpty) { try await source.copy(into: target) }
            let counts = try await Self.rowCounts(target)
            #expect(counts["enrolmentToken"] == 1 && counts["device"] == 0, "\(counts)")
        }
    }

    /// The row encoding cannot be fooled by moving bytes between values or by NULL against empty.
    @Test func theDigestSeparatesValuesAndTypes() {
        func digest(_ rows: [[SQLValue]]) -> String {
            var digester = TableDigester()
            for row in rows { digester.add(row) }
            return digester.digest("t").sha256
        }
        let shapes: [[[SQLValue]]] = [
            [[.text("ab"), .text("c")]],
            [[.text("a"), .text("bc")]],
            [[.text(""), .null]],
            [[.null, .text("")]],
            [[.bytes(Array("ab".utf8)), .text("c")]],
            [[.integer(1)]],
            [[.real(1)]],
            [[.integer(1)], [.integer(2)]],
            [[.integer(2)], [.integer(1)]],
            [],
        ]
        let digests = shapes.map(digest)
        #expect(Set(digests).count == shapes.count, "\(digests)")
        #expect(digest([[.text("ab"), .integer(-1)]]) == digest([[.text("ab"), .integer(-1)]]))
    }
}
