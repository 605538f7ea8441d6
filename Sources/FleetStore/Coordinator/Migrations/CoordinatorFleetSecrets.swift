import GRDB

/// "coordinator-fleet-secrets": the secrets every coordinator of a fleet shares (README "Several coordinators"),
/// kept in the database when the coordinator runs on PostgreSQL. Frozen once shipped: never edit it.
///
/// - `fleetSecret`: one row per secret (`admin`, `release`, `model-protection`), its bytes and when it was stored.
///   On SQLite the table stays empty: the secrets are the data directory's files.
enum CoordinatorFleetSecrets {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "fleetSecret" (
                    "name" TEXT NOT NULL PRIMARY KEY,
                    "value" BLOB NOT NULL,
                    "storedAt" INTEGER NOT NULL
                )
                """
        )
    }
}
