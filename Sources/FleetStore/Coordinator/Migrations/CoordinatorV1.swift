import GRDB

/// "coordinator-v1". Frozen: shipped migrations are never edited. Plain SQL, no application types.
///
/// Conventions: dates are INTEGER milliseconds since the Unix epoch; labels, capabilities and
/// installed models are JSON text with sorted keys; keys and hashes are BLOBs.
enum CoordinatorV1 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "enrolmentToken" (
                    "id" TEXT NOT NULL PRIMARY KEY,
                    "secretHash" BLOB NOT NULL,
                    "usesTotal" INTEGER NOT NULL CHECK ("usesTotal" >= 1),
                    "usesLeft" INTEGER NOT NULL CHECK ("usesLeft" >= 0 AND "usesLeft" <= "usesTotal"),
                    "expiresAt" INTEGER,
                    "labels" TEXT NOT NULL DEFAULT '{}',
                    "createdAt" INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX "enrolmentToken_secretHash" ON "enrolmentToken"("secretHash");

                CREATE TABLE "device" (
                    "id" TEXT NOT NULL PRIMARY KEY,
                    "name" TEXT NOT NULL,
                    "publicKey" BLOB NOT NULL,
                    "labels" TEXT NOT NULL DEFAULT '{}',
                    "capabilities" TEXT NOT NULL DEFAULT '{}',
                    "agentVersion" TEXT NOT NULL,
                    "installedModels" TEXT NOT NULL DEFAULT '[]',
                    "status" TEXT NOT NULL DEFAULT 'offline' CHECK ("status" IN ('online', 'offline')),
                    "lastSeen" INTEGER,
                    "enrolledAt" INTEGER NOT NULL,
                    "tokenID" TEXT NOT NULL
                );
                CREATE UNIQUE INDEX "device_publicKey" ON "device"("publicKey");
                CREATE INDEX "device_name" ON "device"("name", "id");

                CREATE TABLE "event" (
                    "sequence" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "at" INTEGER NOT NULL,
                    "deviceID" TEXT,
                    "kind" TEXT NOT NULL,
                    "detail" TEXT NOT NULL
                );
                CREATE INDEX "event_deviceID_sequence" ON "event"("deviceID", "sequence");
                CREATE TRIGGER "event_appendOnly" BEFORE UPDATE ON "event"
                BEGIN
                    SELECT RAISE(ABORT, 'the event log is append-only');
                END;
                """
        )
    }
}
