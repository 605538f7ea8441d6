/// One schema change, as a list of statements per dialect (PostgreSQL runs one statement per query).
///
/// A new migration is written once, with ``SQLDialect``'s types (`bytesType`, `integerType`, `autoIncrementKey`)
/// where the engines differ; the frozen SQLite migrations that shipped before the PostgreSQL backend have their
/// PostgreSQL twin written out, under the same identifier.
package struct SQLMigration: Sendable {
    package let identifier: String
    package let statements: @Sendable (SQLDialect) -> [String]

    package init(_ identifier: String, statements: @escaping @Sendable (SQLDialect) -> [String]) {
        self.identifier = identifier
        self.statements = statements
    }
}

/// Applies ``SQLMigration``s over any ``SQLExecutor``, recording each applied identifier in
/// `"schemaMigration"`; all pending ones run in one transaction (PostgreSQL's DDL is transactional), so a
/// failure leaves the schema as it was. Several processes starting at once on one PostgreSQL database
/// migrate it once: the first locks the table, the others then find nothing to do.
package struct SQLMigrator: Sendable {
    package let migrations: [SQLMigration]

    package init(_ migrations: [SQLMigration]) {
        self.migrations = migrations
    }

    /// Checks, without changing anything, that every migration of this version was applied: for readers that must
    /// not migrate (`fleetctl`). Throws `notFound` for a database no coordinator has set up, and
    /// `incompatibleSchema` for one that lacks migrations this version needs.
    package func requireApplied(_ executor: any SQLExecutor) async throws {
        let known = migrations.map(\.identifier)
        try await executor.read { connection in
            let tables =
                connection.dialect == .postgres
                ? #"SELECT count(*) AS "present" FROM information_schema.tables WHERE table_schema = current_schema() "#
                    + #"AND table_name = 'schemaMigration'"#
                : #"SELECT count(*) AS "present" FROM sqlite_master WHERE type = 'table' AND name = 'schemaMigration'"#
            guard try connection.query(tables, []).first?.int64("present") == 1 else {
                throw StoreError.notFound.with(
                    "the database holds no coordinator state: start fleet-coordinator on it first"
                )
            }
            let applied = Set(
                try connection.query(#"SELECT "identifier" FROM "schemaMigration""#, []).map {
                    try $0.string("identifier")
                }
            )
            let missing = known.filter { !applied.contains($0) }
            guard missing.isEmpty else {
                throw StoreError.incompatibleSchema.with(
                    "the database lacks migrations this version needs (\(missing.joined(separator: ", "))): "
                        + "upgrade and start fleet-coordinator first"
                )
            }
        }
    }

    /// Applies the missing migrations. Refuses (`incompatibleSchema`) a database that a newer version has
    /// migrated further, as the SQLite stores do.
    package func migrate(_ executor: any SQLExecutor) async throws {
        let migrations = self.migrations
        try await executor.write { connection in
            try connection.execute(#"CREATE TABLE IF NOT EXISTS "schemaMigration" ("identifier" TEXT PRIMARY KEY)"#, [])
            if connection.dialect == .postgres {
                try connection.execute(#"LOCK TABLE "schemaMigration" IN EXCLUSIVE MODE"#, [])
            }
            let applied = Set(
                try connection.query(#"SELECT "identifier" FROM "schemaMigration""#, []).map {
                    try $0.string("identifier")
                }
            )
            let unknown = applied.subtracting(migrations.map(\.identifier))
            guard unknown.isEmpty else {
                throw StoreError.incompatibleSchema.with(
                    "database was migrated by a newer version (unknown migrations: \(unknown.sorted().joined(separator: ", ")))"
                )
            }
            for migration in migrations where !applied.contains(migration.identifier) {
                for statement in migration.statements(connection.dialect) {
                    try connection.execute(statement, [])
                }
                try connection.execute(
                    #"INSERT INTO "schemaMigration" ("identifier") VALUES (?)"#,
                    [.text(migration.identifier)]
                )
            }
        }
    }
}
