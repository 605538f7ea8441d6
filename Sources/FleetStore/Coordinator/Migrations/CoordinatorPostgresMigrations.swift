/// The coordinator's schema on PostgreSQL: the twins of the SQLite migrations ported so far, under the same
/// identifiers, in the same order. Append new ones at the end; never edit a shipped one.
///
/// Types: SQLite's INTEGER is BIGINT (dates are milliseconds), BLOB is BYTEA, an AUTOINCREMENT key is an
/// identity column; the event log's append-only trigger calls a PL/pgSQL function. Text the store orders by
/// (ids, names) has the "C" collation: byte order, as SQLite's BINARY, whatever the database's locale. `CoordinatorSchemaTests`
/// checks that each ported table has the same columns, nullability and type family on both backends.
///
/// Every SQLite migration has its twin. The first three ported (coordinator-v1, coordinator-v6-removed-devices,
/// coordinator-api-tokens) came first and the rest were appended after them, in SQLite's order, so a database
/// migrated before keeps its history; their tables' columns and indexes are the same whatever the order
/// (`PostgresBackendTests` compares every table). SQLite's BOOLEAN (`rollout.autoRollback`) is a BIGINT 0/1 here,
/// as the store binds booleans. Every store file runs on both engines.
enum CoordinatorPostgresMigrations {
    static let all: [SQLMigration] =
        [v1, v6RemovedDevices, apiTokens] + CoordinatorPostgresLaterMigrations.all

    static let v1 = SQLMigration("coordinator-v1") { _ in
        [
            """
            CREATE TABLE "enrolmentToken" (
                "id" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "secretHash" BYTEA NOT NULL,
                "usesTotal" BIGINT NOT NULL CHECK ("usesTotal" >= 1),
                "usesLeft" BIGINT NOT NULL CHECK ("usesLeft" >= 0 AND "usesLeft" <= "usesTotal"),
                "expiresAt" BIGINT,
                "labels" TEXT NOT NULL DEFAULT '{}',
                "createdAt" BIGINT NOT NULL
            )
            """,
            #"CREATE UNIQUE INDEX "enrolmentToken_secretHash" ON "enrolmentToken"("secretHash")"#,
            """
            CREATE TABLE "device" (
                "id" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "name" TEXT COLLATE "C" NOT NULL,
                "publicKey" BYTEA NOT NULL,
                "labels" TEXT NOT NULL DEFAULT '{}',
                "capabilities" TEXT NOT NULL DEFAULT '{}',
                "agentVersion" TEXT NOT NULL,
                "installedModels" TEXT NOT NULL DEFAULT '[]',
                "status" TEXT NOT NULL DEFAULT 'offline' CHECK ("status" IN ('online', 'offline')),
                "lastSeen" BIGINT,
                "enrolledAt" BIGINT NOT NULL,
                "tokenID" TEXT NOT NULL
            )
            """,
            #"CREATE UNIQUE INDEX "device_publicKey" ON "device"("publicKey")"#,
            #"CREATE INDEX "device_name" ON "device"("name", "id")"#,
            """
            CREATE TABLE "event" (
                "sequence" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                "at" BIGINT NOT NULL,
                "deviceID" TEXT,
                "kind" TEXT NOT NULL,
                "detail" TEXT NOT NULL
            )
            """,
            #"CREATE INDEX "event_deviceID_sequence" ON "event"("deviceID", "sequence")"#,
            """
            CREATE FUNCTION "event_appendOnly"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the event log is append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER "event_appendOnly" BEFORE UPDATE ON "event"
            FOR EACH ROW EXECUTE FUNCTION "event_appendOnly"()
            """,
        ]
    }

    static let v6RemovedDevices = SQLMigration("coordinator-v6-removed-devices") { _ in
        [
            """
            CREATE TABLE "removedDevice" (
                "id" TEXT NOT NULL PRIMARY KEY,
                "publicKey" BYTEA NOT NULL,
                "removedAt" BIGINT NOT NULL,
                "erased" BIGINT NOT NULL DEFAULT 0
            )
            """,
            #"CREATE UNIQUE INDEX "removedDevice_publicKey" ON "removedDevice"("publicKey")"#,
        ]
    }

    static let apiTokens = SQLMigration("coordinator-api-tokens") { _ in
        [
            """
            CREATE TABLE "apiToken" (
                "id" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                "secretHash" BYTEA NOT NULL UNIQUE,
                "scope" TEXT NOT NULL,
                "createdAt" BIGINT NOT NULL,
                "expiresAt" BIGINT,
                "revokedAt" BIGINT
            )
            """
        ]
    }
}
