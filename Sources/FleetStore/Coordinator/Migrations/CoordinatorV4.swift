import GRDB

/// "coordinator-v4": observability with privacy (consent history, consented samples, drift reports).
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
///
/// - `consentRecord`: every device-signed consent record the coordinator accepted, in the device's sequence.
/// - `sampleBatch`: consented samples, one row per uploaded batch (zlib-compressed CSV), with the sequence of
///   the consent record they were accepted under; unique per device and idempotency key.
/// - `referenceStatistics`: a model version's reference package (JSON, see `Protocol/OBSERVABILITY.md`).
/// - `driftReport`: drift summaries as received; one per device, model version and window start.
/// - `driftAlert`: the last alert state per scope (`device:ID`, `region:NAME`, `fleet`) and model.
enum CoordinatorV4 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "consentRecord" (
                    "deviceID" TEXT NOT NULL,
                    "sequence" INTEGER NOT NULL,
                    "purpose" TEXT NOT NULL,
                    "action" TEXT NOT NULL CHECK ("action" IN ('grant', 'revoke')),
                    "until" INTEGER,
                    "issuedAt" INTEGER NOT NULL,
                    "record" BLOB NOT NULL,
                    "receivedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("deviceID", "sequence")
                );

                CREATE TABLE "sampleBatch" (
                    "deviceID" TEXT NOT NULL,
                    "idempotencyKey" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "rowCount" INTEGER NOT NULL CHECK ("rowCount" >= 0),
                    "compressedCSV" BLOB NOT NULL,
                    "consentSequence" INTEGER NOT NULL,
                    "receivedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("deviceID", "idempotencyKey")
                );
                CREATE INDEX "sampleBatch_model" ON "sampleBatch"("model", "deviceID");

                CREATE TABLE "referenceStatistics" (
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "statistics" BLOB NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    PRIMARY KEY ("model", "version")
                );

                CREATE TABLE "driftReport" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "deviceID" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "windowStart" INTEGER NOT NULL,
                    "windowEnd" INTEGER NOT NULL,
                    "sampleCount" INTEGER NOT NULL,
                    "summary" BLOB NOT NULL,
                    "wireBytes" INTEGER NOT NULL,
                    "receivedAt" INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX "driftReport_window" ON "driftReport"("deviceID", "model", "version", "windowStart");
                CREATE INDEX "driftReport_model" ON "driftReport"("model", "version", "deviceID", "id");

                CREATE TABLE "driftAlert" (
                    "scope" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "drifted" INTEGER NOT NULL,
                    "changedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("scope", "model")
                );
                """
        )
    }
}
