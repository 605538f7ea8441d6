import GRDB

/// "coordinator-v2": the model registry, per-device assignments, the delivery log and the delta cache index.
/// Frozen once shipped: never edit it, add "coordinator-v3" instead. Plain SQL, no application types.
///
/// Conventions (as in v1): dates are INTEGER milliseconds since the Unix epoch; requirements and metadata
/// are JSON text with sorted keys; digests and signed manifests are BLOBs. No foreign keys: like
/// `event.deviceID`, rows may outlive what they name, and the store checks references when writing.
enum CoordinatorV2 {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "modelVariant" (
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL CHECK ("version" >= 0),
                    "variant" TEXT NOT NULL,
                    "size" INTEGER NOT NULL CHECK ("size" >= 0),
                    "sha256" BLOB NOT NULL,
                    "blobPath" TEXT NOT NULL,
                    "requirements" TEXT NOT NULL DEFAULT '{}',
                    "metadata" TEXT NOT NULL DEFAULT '{}',
                    "signedManifest" BLOB NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    PRIMARY KEY ("model", "version", "variant")
                );
                CREATE INDEX "modelVariant_sha256" ON "modelVariant"("sha256");

                CREATE TABLE "modelAssignment" (
                    "deviceID" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "version" INTEGER,
                    "variant" TEXT,
                    "reason" TEXT NOT NULL,
                    "updatedAt" INTEGER NOT NULL,
                    PRIMARY KEY ("deviceID", "model"),
                    CHECK (("version" IS NULL) = ("variant" IS NULL))
                );
                CREATE INDEX "modelAssignment_model" ON "modelAssignment"("model", "deviceID");

                CREATE TABLE "modelTransfer" (
                    "sequence" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "deviceID" TEXT NOT NULL,
                    "model" TEXT NOT NULL,
                    "version" INTEGER NOT NULL,
                    "variant" TEXT NOT NULL,
                    "encoding" TEXT NOT NULL,
                    "baseVersion" INTEGER,
                    "wireBytes" INTEGER NOT NULL CHECK ("wireBytes" >= 0),
                    "fullBytes" INTEGER NOT NULL CHECK ("fullBytes" >= 0),
                    "fileBytes" INTEGER NOT NULL CHECK ("fileBytes" >= 0),
                    "startedAt" INTEGER NOT NULL,
                    "completedAt" INTEGER NOT NULL,
                    "resumedFrom" INTEGER NOT NULL DEFAULT 0 CHECK ("resumedFrom" >= 0)
                );
                CREATE INDEX "modelTransfer_deviceID_sequence" ON "modelTransfer"("deviceID", "sequence");
                CREATE INDEX "modelTransfer_model_sequence" ON "modelTransfer"("model", "sequence");

                CREATE TABLE "deltaCache" (
                    "fromSHA256" BLOB NOT NULL,
                    "toSHA256" BLOB NOT NULL,
                    "encoding" TEXT NOT NULL,
                    "path" TEXT NOT NULL,
                    "size" INTEGER NOT NULL CHECK ("size" >= 0),
                    "payloadSHA256" BLOB NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    PRIMARY KEY ("fromSHA256", "toSHA256")
                );
                CREATE INDEX "deltaCache_toSHA256" ON "deltaCache"("toSHA256");
                """
        )
    }
}
