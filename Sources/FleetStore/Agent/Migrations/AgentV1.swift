import GRDB

/// "agent-v1". Frozen: shipped migrations are never edited. Plain SQL, no application types, and
/// nothing newer than SQLite 3.8 (edge boxes may carry an old libsqlite3).
///
/// Conventions: dates are INTEGER milliseconds since the Unix epoch; values and payloads are BLOBs.
enum AgentV1 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "state" (
                    "key" TEXT NOT NULL PRIMARY KEY,
                    "value" BLOB NOT NULL
                );

                CREATE TABLE "outbox" (
                    "sequence" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "kind" TEXT NOT NULL,
                    "payload" BLOB NOT NULL,
                    "idempotencyKey" TEXT,
                    "createdAt" INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX "outbox_idempotencyKey" ON "outbox"("idempotencyKey");
                CREATE INDEX "outbox_kind" ON "outbox"("kind");
                """
        )
    }
}
