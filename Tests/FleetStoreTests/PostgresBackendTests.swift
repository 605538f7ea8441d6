import FleetStorePostgres
import Foundation
import PostgresTestSupport
import Testing

@testable import FleetStore

/// What only the PostgreSQL backend can get wrong: its schema against SQLite's, concurrent writers, reaching the
/// server.
@Suite("PostgreSQL backend")
struct PostgresBackendTests {
    /// Every table of the coordinator's schema, in migration order.
    static let tables = [
        "enrolmentToken", "device", "event", "modelVariant", "modelAssignment", "modelTransfer", "deltaCache",
        "modelPin", "consentRecord", "sampleBatch", "referenceStatistics", "driftReport", "driftAlert", "round",
        "roundParticipant", "evaluationSet", "modelReportReceipt", "removedDevice", "deviceGateway", "quotaGrant",
        "usageReceipt", "apiToken", "rollout", "rolloutWave", "rolloutDevice", "modelHold", "healthSummary",
        "healthEntry", "rolloutGates", "rolloutHealth", "fleetSecret", "lease", "outbox", "forwardedUpdate",
    ]

    /// A table a later SQLite migration adds fails here until its PostgreSQL twin exists (and is listed above).
    @Test func bothBackendsHaveTheSameTables() async throws {
        let sqlite = try await withCoordinator(CoordinatorBackend.inMemory) { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"""
                    SELECT "name" FROM "sqlite_master" WHERE "type" = 'table' AND "name" NOT LIKE 'sqlite_%'
                        AND "name" NOT LIKE 'grdb_%' ORDER BY "name"
                    """#,
                    []
                ).map { try $0.string("name") }
            }
        }
        let postgres = try await withPostgresCoordinator { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"""
                    SELECT "tablename"::text AS "name" FROM pg_tables WHERE "schemaname" = current_schema()
                        AND "tablename" <> 'schemaMigration' ORDER BY "tablename" COLLATE "C"
                    """#,
                    []
                ).map { try $0.string("name") }
            }
        }
        #expect(sqlite == Self.tables.sorted())
        #expect(postgres == sqlite)
    }

    /// Every table, on both backends: same columns in the same order, same nullability, same type family
    /// (SQLite's BOOLEAN holds 0/1, a BIGINT on PostgreSQL).
    @Test(arguments: tables)
    func tablesHaveTheSameColumnsOnBothBackends(table: String) async throws {
        let sqlite = try await withCoordinator(CoordinatorBackend.inMemory) { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"SELECT "name", "type", ("notnull" OR "pk" > 0) AS "required" FROM pragma_table_info(?) ORDER BY "cid""#,
                    [.text(table)]
                ).map { row in
                    let type = try row.string("type").lowercased()
                    let family = type == "boolean" ? "integer" : type
                    return "\(try row.string("name")) \(family) \(try row.int64("required") == 1)"
                }
            }
        }
        let postgres = try await withPostgresCoordinator { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"""
                    SELECT "column_name"::text AS "name", "data_type"::text AS "type",
                        ("is_nullable" = 'NO') AS "required"
                    FROM information_schema.columns WHERE "table_name"::text = ? ORDER BY "ordinal_position"
                    """#,
                    [.text(table)]
                ).map { row in
                    let type = try row.string("type")
                    let family =
                        ["bigint": "integer", "text": "text", "bytea": "blob", "double precision": "real"][type] ?? type
                    return "\(try row.string("name")) \(family) \(try row.int64("required") == 1)"
                }
            }
        }
        #expect(!sqlite.isEmpty)
        #expect(sqlite == postgres)
    }

    @Test(arguments: tables)
    func tablesHaveTheSameIndexesOnBothBackends(table: String) async throws {
        let sqlite = try await withCoordinator(CoordinatorBackend.inMemory) { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"""
                    SELECT "name" FROM "sqlite_master" WHERE "type" = 'index' AND "tbl_name" = ?
                        AND "name" NOT LIKE 'sqlite_autoindex%' ORDER BY "name"
                    """#,
                    [.text(table)]
                ).map { try $0.string("name") }
            }
        }
        let postgres = try await withPostgresCoordinator { store in
            try await store.sqlRead { connection in
                try connection.query(
                    #"""
                    SELECT "indexname"::text AS "name" FROM pg_indexes WHERE "tablename"::text = ?
                        AND "indexname" NOT LIKE '%_pkey' AND "indexname" NOT LIKE '%_key' ORDER BY "indexname"
                    """#,
                    [.text(table)]
                ).map { try $0.string("name") }
            }
        }
        #expect(sqlite == postgres)
    }

    /// Twenty devices race for a token with five uses, through separate connections: exactly five enrol (the
    /// serializable transactions, run again on conflict, behave as SQLite's one writer at a time).
    @Test func concurrentEnrolmentsNeverOverspendAToken() async throws {
        try await withPostgresCoordinator { store in
            _ = try await store.createToken(Fixtures.token(uses: 5))
            let outcomes = await withTaskGroup(of: Result<String, StoreError>.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            let device = try await store.enrol(
                                device: Fixtures.device(index),
                                tokenHash: Fixtures.hash(1),
                                now: Dates.at(1)
                            )
                            return .success(device.id)
                        } catch let error as StoreError {
                            return .failure(error)
                        } catch {
                            return .failure(StoreError.io.with("\(error)"))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let enrolled = outcomes.compactMap { try? $0.get() }
            let refusals = outcomes.compactMap { outcome -> StoreError? in
                if case .failure(let error) = outcome { error } else { nil }
            }
            #expect(enrolled.count == 5)
            #expect(refusals.count == 15)
            #expect(refusals.allSatisfy { $0 == .tokenExhausted }, "\(refusals)")
            #expect(try await store.deviceCount() == 5)
            #expect(try await store.tokens().first?.usesLeft == 0)
            #expect(try await store.events(deviceID: nil, kind: "enrolled", limit: 100, afterSequence: nil).count == 5)
        }
    }

    @Test func theEventLogIsAppendOnly() async throws {
        try await withPostgresCoordinator { store in
            try await store.appendEvent(NewEvent(at: Dates.at(1), deviceID: nil, kind: "fleet", detail: "x"))
            await #expect(throws: StoreError.self) {
                try await store.sqlWrite { connection in
                    try connection.execute(#"UPDATE "event" SET "detail" = 'changed'"#, [])
                }
            }
            #expect(try await store.events(after: 0, limit: 10).map(\.detail) == ["x"])
        }
    }

    /// Without PostgreSQL's server the tests fail (never skip) and say what to install.
    @Test func missingServerBinariesFailWithWhatToInstall() throws {
        #expect { try ThrowawayCluster.binDirectory(root: "/nonexistent/postgresql") } throws: { error in
            "\(error)".contains("apt-get install -y postgresql") && "\(error)".contains("TINYFLEET_TEST_POSTGRES")
        }
    }

    @Test func aServerNotListeningFailsAtOnceNamingIt() async throws {
        let port = try ThrowawayCluster.freePort()
        let url = try PostgresDatabaseURL(parsing: "postgres://tinyfleet@127.0.0.1:\(port)/fleet?sslmode=disable")
        // The pool, asked first, would retry for about a minute and then throw its circuit breaker's error, which
        // names neither the server nor the reason. (No bound on the time here: in the parallel suite a test's own
        // steps can wait minutes for a thread of the pool.)
        await #expect {
            try await PostgresCoordinatorStore.withStore(url, password: nil) { _ in }
        } throws: { error in
            error as? StoreError == StoreError.io && "\(error)".contains("127.0.0.1:\(port)")
                && "\(error)".contains("refused") && !"\(error)".contains("CircuitBreaker")
        }
    }

    @Test func aMissingDatabaseFailsAtOnceWithTheServersReason() async throws {
        let (url, password) = try await PostgresTestCluster.shared.freshDatabase()
        try await PostgresTestCluster.shared.drop(url)
        await #expect {
            try await PostgresCoordinatorStore.withStore(url, password: password) { _ in }
        } throws: { error in
            "\(error)".contains(url.database) && "\(error)".contains("3D000") && !"\(error)".contains("CircuitBreaker")
        }
    }

    @Test func migratingTwiceIsANoOpAndANewerSchemaIsRefused() async throws {
        try await withPostgresCoordinator { store in
            try await SQLMigrator(CoordinatorPostgresMigrations.all).migrate(store.executor)
            _ = try await store.sqlWrite { connection in
                try connection.execute(#"INSERT INTO "schemaMigration" ("identifier") VALUES ('from-the-future')"#, [])
            }
            await #expect(throws: StoreError.incompatibleSchema) {
                try await SQLMigrator(CoordinatorPostgresMigrations.all).migrate(store.executor)
            }
        }
    }
}
