import GRDB

/// "coordinator-v5": federated rounds, their participants, and the evaluation sets held by the coordinator.
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
enum CoordinatorV5 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "round" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "model" TEXT NOT NULL,
                    "variant" TEXT NOT NULL,
                    "baseVersion" INTEGER NOT NULL,
                    "status" TEXT NOT NULL,
                    "strategy" TEXT NOT NULL,
                    "settings" TEXT NOT NULL DEFAULT '{}',
                    "seed" INTEGER NOT NULL,
                    "startedAt" INTEGER NOT NULL,
                    "endedAt" INTEGER,
                    "publishedVersion" INTEGER,
                    "testAccuracy" REAL,
                    "bytesUp" INTEGER NOT NULL DEFAULT 0,
                    "bytesDown" INTEGER NOT NULL DEFAULT 0,
                    "detail" TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX "round_model" ON "round"("model", "id");

                CREATE TABLE "roundParticipant" (
                    "round" INTEGER NOT NULL,
                    "deviceID" TEXT NOT NULL,
                    "status" TEXT NOT NULL,
                    "sampleCount" INTEGER NOT NULL DEFAULT 0,
                    "bytesUp" INTEGER NOT NULL DEFAULT 0,
                    "bytesDown" INTEGER NOT NULL DEFAULT 0,
                    "metrics" TEXT NOT NULL DEFAULT '{}',
                    "updatedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("round", "deviceID")
                );

                CREATE TABLE "evaluationSet" (
                    "model" TEXT NOT NULL PRIMARY KEY,
                    "csv" BLOB NOT NULL,
                    "updatedAt" INTEGER NOT NULL
                );
                """
        )
    }
}
