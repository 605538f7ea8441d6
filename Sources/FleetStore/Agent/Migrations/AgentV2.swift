import GRDB

/// "agent-v2": observability on the device (consent records, the sample queue, drift windows).
/// Frozen once shipped: never edit it. Plain SQL, no application types, nothing newer than SQLite 3.8.
///
/// - `consentRecord`: the owner's signed consent records; `syncedAt` is set when the coordinator acknowledged
///   one, `refused` when it refused it for good.
/// - `sampleQueue`: samples waiting for upload (one CSV line each), held only while `samples` consent is in
///   force; `batchKey` is set when a row joins an upload batch (the batch's idempotency key).
/// - `driftWindow`: the open reporting window's summary per model version; `driftPending`: closed windows not
///   yet acknowledged by the coordinator.
/// - `referenceStatistics`: the reference packages received for installed model versions.
enum AgentV2 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "consentRecord" (
                    "sequence" INTEGER PRIMARY KEY,
                    "purpose" TEXT NOT NULL,
                    "action" TEXT NOT NULL,
                    "until" INTEGER,
                    "issuedAt" INTEGER NOT NULL,
                    "record" BLOB NOT NULL,
                    "syncedAt" INTEGER,
                    "refused" TEXT
                );

                CREATE TABLE "sampleQueue" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "model" TEXT NOT NULL,
                    "header" TEXT NOT NULL,
                    "line" TEXT NOT NULL,
                    "bytes" INTEGER NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    "batchKey" TEXT
                );
                CREATE INDEX "sampleQueue_batchKey" ON "sampleQueue"("batchKey");

                CREATE TABLE "driftWindow" (
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "windowStart" INTEGER NOT NULL,
                    "summary" BLOB NOT NULL,
                    PRIMARY KEY ("model", "version")
                );

                CREATE TABLE "driftPending" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "summary" BLOB NOT NULL,
                    "createdAt" INTEGER NOT NULL
                );

                CREATE TABLE "referenceStatistics" (
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "statistics" BLOB NOT NULL,
                    PRIMARY KEY ("model", "version")
                );
                """
        )
    }
}
