/// The PostgreSQL twins of the coordinator's SQLite migrations from coordinator-v2 on (models, pins,
/// observability, rounds, gateways, quotas, rollouts), appended after the three ported first
/// (``CoordinatorPostgresMigrations``), in SQLite's order. Frozen once shipped, like their twins.
///
/// Types as in the first three: INTEGER is BIGINT, BLOB is BYTEA, REAL is DOUBLE PRECISION, an AUTOINCREMENT key is
/// an identity column, text has the "C" collation (byte order, as SQLite's BINARY). SQLite's `WITHOUT ROWID` has
/// no counterpart: a PostgreSQL table is always stored apart from its primary key's index.
enum CoordinatorPostgresLaterMigrations {
    static let all: [SQLMigration] = [
        v2, v3, v4, v5, roundRefusals, modelReportReceipts, deviceGateways, quotas, rollouts, rolloutHealth,
        rolloutDeviceTimeout, fleetSecrets, leases, outbox, forwardedUpdates,
    ]

    static let v2 = SQLMigration("coordinator-v2") { _ in
        [
            """
            CREATE TABLE "modelVariant" (
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL CHECK ("version" >= 0),
                "variant" TEXT COLLATE "C" NOT NULL,
                "size" BIGINT NOT NULL CHECK ("size" >= 0),
                "sha256" BYTEA NOT NULL,
                "blobPath" TEXT NOT NULL,
                "requirements" TEXT NOT NULL DEFAULT '{}',
                "metadata" TEXT NOT NULL DEFAULT '{}',
                "signedManifest" BYTEA NOT NULL,
                "createdAt" BIGINT NOT NULL,
                PRIMARY KEY ("model", "version", "variant")
            )
            """,
            #"CREATE INDEX "modelVariant_sha256" ON "modelVariant"("sha256")"#,
            """
            CREATE TABLE "modelAssignment" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT,
                "variant" TEXT COLLATE "C",
                "reason" TEXT NOT NULL,
                "updatedAt" BIGINT NOT NULL,
                PRIMARY KEY ("deviceID", "model"),
                CHECK (("version" IS NULL) = ("variant" IS NULL))
            )
            """,
            #"CREATE INDEX "modelAssignment_model" ON "modelAssignment"("model", "deviceID")"#,
            """
            CREATE TABLE "modelTransfer" (
                "sequence" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "variant" TEXT COLLATE "C" NOT NULL,
                "encoding" TEXT NOT NULL,
                "baseVersion" BIGINT,
                "wireBytes" BIGINT NOT NULL CHECK ("wireBytes" >= 0),
                "fullBytes" BIGINT NOT NULL CHECK ("fullBytes" >= 0),
                "fileBytes" BIGINT NOT NULL CHECK ("fileBytes" >= 0),
                "startedAt" BIGINT NOT NULL,
                "completedAt" BIGINT NOT NULL,
                "resumedFrom" BIGINT NOT NULL DEFAULT 0 CHECK ("resumedFrom" >= 0)
            )
            """,
            #"CREATE INDEX "modelTransfer_deviceID_sequence" ON "modelTransfer"("deviceID", "sequence")"#,
            #"CREATE INDEX "modelTransfer_model_sequence" ON "modelTransfer"("model", "sequence")"#,
            """
            CREATE TABLE "deltaCache" (
                "fromSHA256" BYTEA NOT NULL,
                "toSHA256" BYTEA NOT NULL,
                "encoding" TEXT NOT NULL,
                "path" TEXT NOT NULL,
                "size" BIGINT NOT NULL CHECK ("size" >= 0),
                "payloadSHA256" BYTEA NOT NULL,
                "createdAt" BIGINT NOT NULL,
                PRIMARY KEY ("fromSHA256", "toSHA256")
            )
            """,
            #"CREATE INDEX "deltaCache_toSHA256" ON "deltaCache"("toSHA256")"#,
        ]
    }

    static let v3 = SQLMigration("coordinator-v3") { _ in
        [
            """
            CREATE TABLE "modelPin" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL CHECK ("version" >= 1),
                "rollback" BIGINT NOT NULL DEFAULT 0,
                "pinnedAt" BIGINT NOT NULL,
                PRIMARY KEY ("deviceID", "model")
            )
            """
        ]
    }

    static let v4 = SQLMigration("coordinator-v4") { _ in
        [
            """
            CREATE TABLE "consentRecord" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "sequence" BIGINT NOT NULL,
                "purpose" TEXT COLLATE "C" NOT NULL,
                "action" TEXT NOT NULL CHECK ("action" IN ('grant', 'revoke')),
                "until" BIGINT,
                "issuedAt" BIGINT NOT NULL,
                "record" BYTEA NOT NULL,
                "receivedAt" BIGINT NOT NULL,
                PRIMARY KEY ("deviceID", "sequence")
            )
            """,
            """
            CREATE TABLE "sampleBatch" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "idempotencyKey" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "rowCount" BIGINT NOT NULL CHECK ("rowCount" >= 0),
                "compressedCSV" BYTEA NOT NULL,
                "consentSequence" BIGINT NOT NULL,
                "receivedAt" BIGINT NOT NULL,
                PRIMARY KEY ("deviceID", "idempotencyKey")
            )
            """,
            #"CREATE INDEX "sampleBatch_model" ON "sampleBatch"("model", "deviceID")"#,
            """
            CREATE TABLE "referenceStatistics" (
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "statistics" BYTEA NOT NULL,
                "createdAt" BIGINT NOT NULL,
                PRIMARY KEY ("model", "version")
            )
            """,
            """
            CREATE TABLE "driftReport" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "windowStart" BIGINT NOT NULL,
                "windowEnd" BIGINT NOT NULL,
                "sampleCount" BIGINT NOT NULL,
                "summary" BYTEA NOT NULL,
                "wireBytes" BIGINT NOT NULL,
                "receivedAt" BIGINT NOT NULL
            )
            """,
            #"""
            CREATE UNIQUE INDEX "driftReport_window" ON "driftReport"("deviceID", "model", "version", "windowStart")
            """#,
            #"CREATE INDEX "driftReport_model" ON "driftReport"("model", "version", "deviceID", "id")"#,
            """
            CREATE TABLE "driftAlert" (
                "scope" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "drifted" BIGINT NOT NULL,
                "changedAt" BIGINT NOT NULL,
                PRIMARY KEY ("scope", "model")
            )
            """,
        ]
    }

    static let v5 = SQLMigration("coordinator-v5") { _ in
        [
            """
            CREATE TABLE "round" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "model" TEXT COLLATE "C" NOT NULL,
                "variant" TEXT COLLATE "C" NOT NULL,
                "baseVersion" BIGINT NOT NULL,
                "status" TEXT NOT NULL,
                "strategy" TEXT NOT NULL,
                "settings" TEXT NOT NULL DEFAULT '{}',
                "seed" BIGINT NOT NULL,
                "startedAt" BIGINT NOT NULL,
                "endedAt" BIGINT,
                "publishedVersion" BIGINT,
                "testAccuracy" DOUBLE PRECISION,
                "bytesUp" BIGINT NOT NULL DEFAULT 0,
                "bytesDown" BIGINT NOT NULL DEFAULT 0,
                "detail" TEXT NOT NULL DEFAULT ''
            )
            """,
            #"CREATE INDEX "round_model" ON "round"("model", "id")"#,
            """
            CREATE TABLE "roundParticipant" (
                "round" BIGINT NOT NULL,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "status" TEXT NOT NULL,
                "sampleCount" BIGINT NOT NULL DEFAULT 0,
                "bytesUp" BIGINT NOT NULL DEFAULT 0,
                "bytesDown" BIGINT NOT NULL DEFAULT 0,
                "metrics" TEXT NOT NULL DEFAULT '{}',
                "updatedAt" BIGINT NOT NULL,
                PRIMARY KEY ("round", "deviceID")
            )
            """,
            """
            CREATE TABLE "evaluationSet" (
                "model" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "csv" BYTEA NOT NULL,
                "updatedAt" BIGINT NOT NULL
            )
            """,
        ]
    }

    static let roundRefusals = SQLMigration("coordinator-round-refusals") { _ in
        [#"ALTER TABLE "roundParticipant" ADD COLUMN "reason" TEXT NOT NULL DEFAULT ''"#]
    }

    static let modelReportReceipts = SQLMigration("coordinator-model-report-receipts") { _ in
        [
            """
            CREATE TABLE "modelReportReceipt" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "reportID" BIGINT NOT NULL,
                "receivedAt" BIGINT NOT NULL,
                PRIMARY KEY ("deviceID", "reportID")
            )
            """
        ]
    }

    static let deviceGateways = SQLMigration("coordinator-device-gateways") { _ in
        [
            """
            CREATE TABLE "deviceGateway" (
                "deviceID" TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES "device"("id") ON DELETE CASCADE,
                "gatewayID" TEXT COLLATE "C" NOT NULL
            )
            """
        ]
    }

    static let quotas = SQLMigration("coordinator-quotas") { _ in
        [
            """
            CREATE TABLE "quotaGrant" (
                "sequence" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "createdAt" BIGINT NOT NULL,
                "record" BYTEA NOT NULL
            )
            """,
            #"CREATE INDEX "quotaGrant_device" ON "quotaGrant"("deviceID", "sequence")"#,
            """
            CREATE TABLE "usageReceipt" (
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "position" BIGINT NOT NULL,
                "hash" BYTEA NOT NULL,
                "model" TEXT COLLATE "C" NOT NULL,
                "grantSequence" BIGINT NOT NULL,
                "kind" BIGINT NOT NULL,
                "count" BIGINT NOT NULL,
                "priceMicros" BIGINT NOT NULL,
                "currency" TEXT COLLATE "C" NOT NULL,
                "windowStart" BIGINT NOT NULL,
                "windowEnd" BIGINT NOT NULL,
                "receivedAt" BIGINT NOT NULL,
                "flags" TEXT NOT NULL,
                "record" BYTEA NOT NULL,
                PRIMARY KEY ("deviceID", "position")
            )
            """,
            #"CREATE INDEX "usageReceipt_model" ON "usageReceipt"("model", "deviceID")"#,
        ]
    }

    static let rollouts = SQLMigration("coordinator-rollouts") { _ in
        [
            """
            CREATE TABLE "rollout" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "variant" TEXT COLLATE "C" NOT NULL,
                "previousVersion" BIGINT NOT NULL,
                "selector" TEXT NOT NULL,
                "soakMilliseconds" BIGINT NOT NULL,
                "minimumDevicesPerWave" BIGINT NOT NULL,
                "maximumInstallFailurePercent" DOUBLE PRECISION NOT NULL,
                "autoRollback" BIGINT NOT NULL,
                "seed" BIGINT NOT NULL,
                "state" TEXT NOT NULL,
                "wave" BIGINT NOT NULL,
                "reason" TEXT NOT NULL,
                "createdAt" BIGINT NOT NULL,
                "updatedAt" BIGINT NOT NULL
            )
            """,
            #"CREATE INDEX "rollout_model" ON "rollout"("model", "state")"#,
            """
            CREATE TABLE "rolloutWave" (
                "rolloutID" BIGINT NOT NULL REFERENCES "rollout"("id"),
                "wave" BIGINT NOT NULL,
                "percent" BIGINT NOT NULL,
                "startedAt" BIGINT,
                "settledAt" BIGINT,
                "decision" TEXT NOT NULL,
                "reason" TEXT NOT NULL,
                PRIMARY KEY ("rolloutID", "wave")
            )
            """,
            """
            CREATE TABLE "rolloutDevice" (
                "rolloutID" BIGINT NOT NULL REFERENCES "rollout"("id"),
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "wave" BIGINT NOT NULL,
                "outcome" TEXT NOT NULL,
                PRIMARY KEY ("rolloutID", "deviceID")
            )
            """,
            #"CREATE INDEX "rolloutDevice_device" ON "rolloutDevice"("deviceID")"#,
            """
            CREATE TABLE "modelHold" (
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "heldAt" BIGINT NOT NULL,
                PRIMARY KEY ("model", "version")
            )
            """,
        ]
    }

    static let rolloutHealth = SQLMigration("coordinator-rollout-health") { _ in
        [
            """
            CREATE TABLE "healthSummary" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "receivedAt" BIGINT NOT NULL,
                "windowMilliseconds" BIGINT NOT NULL,
                "starts" BIGINT NOT NULL
            )
            """,
            #"CREATE INDEX "healthSummary_device" ON "healthSummary"("deviceID", "receivedAt")"#,
            #"CREATE INDEX "healthSummary_received" ON "healthSummary"("receivedAt")"#,
            """
            CREATE TABLE "healthEntry" (
                "summaryID" BIGINT NOT NULL REFERENCES "healthSummary"("id") ON DELETE CASCADE,
                "model" TEXT COLLATE "C" NOT NULL,
                "version" BIGINT NOT NULL,
                "queries" BIGINT NOT NULL,
                "errors" BIGINT NOT NULL,
                "latency" TEXT NOT NULL,
                "confidence" TEXT NOT NULL,
                "labelled" BIGINT NOT NULL,
                "correct" BIGINT NOT NULL,
                PRIMARY KEY ("summaryID", "model", "version")
            )
            """,
            #"CREATE INDEX "healthEntry_version" ON "healthEntry"("model", "version")"#,
            """
            CREATE TABLE "rolloutGates" (
                "rolloutID" BIGINT PRIMARY KEY REFERENCES "rollout"("id") ON DELETE CASCADE,
                "policy" TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE "rolloutHealth" (
                "rolloutID" BIGINT NOT NULL REFERENCES "rollout"("id") ON DELETE CASCADE,
                "wave" BIGINT NOT NULL,
                "assessment" TEXT NOT NULL,
                "assessedAt" BIGINT NOT NULL,
                PRIMARY KEY ("rolloutID", "wave")
            )
            """,
        ]
    }

    static let rolloutDeviceTimeout = SQLMigration("coordinator-rollout-device-timeout") { _ in
        [#"ALTER TABLE "rollout" ADD COLUMN "deviceTimeoutMilliseconds" BIGINT"#]
    }

    static let fleetSecrets = SQLMigration("coordinator-fleet-secrets") { _ in
        [
            """
            CREATE TABLE "fleetSecret" (
                "name" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "value" BYTEA NOT NULL,
                "storedAt" BIGINT NOT NULL
            )
            """
        ]
    }

    static let leases = SQLMigration("coordinator-leases") { _ in
        [
            """
            CREATE TABLE "lease" (
                "name" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "owner" TEXT NOT NULL,
                "expiresAt" BIGINT NOT NULL
            )
            """
        ]
    }

    static let outbox = SQLMigration("coordinator-outbox") { _ in
        [
            """
            CREATE TABLE "outbox" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "frame" BYTEA NOT NULL,
                "queuedAt" BIGINT NOT NULL
            )
            """
        ]
    }

    static let forwardedUpdates = SQLMigration("coordinator-forwarded-updates") { _ in
        [
            """
            CREATE TABLE "forwardedUpdate" (
                "id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "round" BIGINT NOT NULL,
                "deviceID" TEXT COLLATE "C" NOT NULL,
                "update" BYTEA NOT NULL,
                "forwardedAt" BIGINT NOT NULL
            )
            """
        ]
    }
}
