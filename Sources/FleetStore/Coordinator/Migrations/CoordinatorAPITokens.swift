import GRDB

/// "coordinator-api-tokens": bearer tokens of the HTTP admin API. Only each secret's SHA-256 is stored; `scope` is
/// `read` or `admin`; dates are INTEGER milliseconds. Frozen once shipped. Plain SQL, no application types.
enum CoordinatorAPITokens {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "apiToken" (
                    "id" TEXT NOT NULL PRIMARY KEY,
                    "secretHash" BLOB NOT NULL UNIQUE,
                    "scope" TEXT NOT NULL,
                    "createdAt" INTEGER NOT NULL,
                    "expiresAt" INTEGER,
                    "revokedAt" INTEGER
                );
                """
        )
    }
}
