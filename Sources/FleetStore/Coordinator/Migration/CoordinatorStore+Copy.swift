import GRDB

/// One table of a copy: its digest on the source and on the target.
package struct TableVerification: Sendable, Equatable {
    package let source: TableDigest
    package let target: TableDigest

    package var name: String { source.name }
    /// Same row count and same hash on both sides.
    package var verified: Bool { source == target }
}

/// How far a copy is, for progress lines: `copied` of `total` rows of `table`, the last `batch` of them just now.
package struct CopyProgress: Sendable {
    package let table: String
    package let copied: Int
    package let total: Int
    package let batch: Int
}

extension CoordinatorStore {
    /// Copies every table of this store (on SQLite) into `target` (on PostgreSQL, migrated, and empty), in one
    /// transaction on the target, then verifies it inside that transaction: per table, the row count and the hash of
    /// the rows in primary-key order on each side (``TableDigester``). Any failure, a mismatch among them
    /// (`verificationFailed`), rolls the target back to empty. Refuses a target that holds any row
    /// (`targetNotEmpty`) and schemas that differ (`incompatibleSchema`).
    ///
    /// Rows go `batchSize` at a time (fewer when a table has many columns, within PostgreSQL's 65,535 parameters);
    /// identity columns are inserted as they are and their sequences moved past the highest value the source
    /// ever gave (its `sqlite_sequence`, or the largest copied value). `progress` is called after each batch.
    package func copy(
        into target: CoordinatorStore,
        batchSize: Int = 1000,
        progress: @escaping @Sendable (CopyProgress) -> Void = { _ in }
    ) async throws -> [TableVerification] {
        guard let source = sqlite else {
            throw StoreError.invalidArgument.with("the copy reads a SQLite store; this one is on \(executor.dialect)")
        }
        guard target.executor.dialect == .postgres else {
            throw StoreError.invalidArgument.with("the copy writes a PostgreSQL store, not \(target.executor.dialect)")
        }
        let batchSize = max(1, batchSize)
        return try await target.executor.write { targetConnection in
            try mappingErrors {
                try source.read { db in
                    try StoreCopy(
                        source: GRDBConnection(db: db),
                        target: targetConnection,
                        batchSize: batchSize,
                        progress: progress
                    ).run()
                }
            }
        }
    }

    /// Per table, the digest of this store (SQLite) and of `target` (PostgreSQL) as they are now: to check a copy
    /// again after it was made.
    package func verifyCopy(in target: CoordinatorStore, batchSize: Int = 1000) async throws -> [TableVerification] {
        let tables = try await target.sqlRead { try StoreTable.postgresSchema($0) }
        let batchSize = max(1, batchSize)
        let sourceDigests = try await sqlRead { connection in
            try StoreTable.requireSameSchema(tables, inSQLite: connection)
            return try tables.map { try TableDigester.digest($0, connection, batchSize: batchSize) }
        }
        let targetDigests = try await target.sqlRead { connection in
            try tables.map { try TableDigester.digest($0, connection, batchSize: batchSize) }
        }
        return zip(sourceDigests, targetDigests).map { TableVerification(source: $0, target: $1) }
    }
}

/// One copy of a SQLite store's tables into a PostgreSQL one, inside a transaction on each.
private struct StoreCopy {
    let source: any SQLConnection
    let target: any SQLConnection
    let batchSize: Int
    let progress: @Sendable (CopyProgress) -> Void

    /// PostgreSQL binds at most 65,535 parameters in one statement.
    static let maximumParameters = 65_535

    func run() throws -> [TableVerification] {
        let tables = try StoreTable.postgresSchema(target)
        try StoreTable.requireSameSchema(tables, inSQLite: source)
        let occupied = try tables.filter { table in
            try target.queryInt(#"SELECT count(*) FROM (SELECT 1 FROM "\#(table.name)" LIMIT 1) AS "probe""#, []) != 0
        }.map(\.name)
        guard occupied.isEmpty else {
            throw StoreError.targetNotEmpty.with(
                "the PostgreSQL database already holds a fleet (rows in \(occupied.joined(separator: ", "))): "
                    + "migrate into a new, empty database"
            )
        }
        var sourceDigests: [TableDigest] = []
        for table in tables {
            sourceDigests.append(try copy(table))
            try resetSequences(table)
        }
        let verifications = try zip(tables, sourceDigests).map { table, sourceDigest in
            TableVerification(
                source: sourceDigest,
                target: try TableDigester.digest(table, target, batchSize: batchSize)
            )
        }
        let failed = verifications.filter { !$0.verified }
        guard failed.isEmpty else {
            throw StoreError.verificationFailed.with(
                "the copy differs from its source in "
                    + failed.map {
                        "\($0.name) (\($0.source.rows) rows \($0.source.sha256.prefix(12))… in SQLite, "
                            + "\($0.target.rows) rows \($0.target.sha256.prefix(12))… in PostgreSQL)"
                    }
                    .joined(separator: ", ") + "; nothing was kept in PostgreSQL"
            )
        }
        return verifications
    }

    /// Copies `table`'s rows in primary-key order, hashing them as they are read; returns the source's digest.
    private func copy(_ table: StoreTable) throws -> TableDigest {
        let total = Int(try source.queryInt(#"SELECT count(*) FROM "\#(table.name)""#, []) ?? 0)
        let rowsPerInsert = max(1, min(batchSize, Self.maximumParameters / max(1, table.columns.count)))
        let overriding = table.identityColumns.isEmpty ? "" : " OVERRIDING SYSTEM VALUE"
        let rowPlaceholders = "(\(sqlPlaceholders(table.columns.count)))"
        var digester = TableDigester()
        var copied = 0
        while true {
            let rows = try table.rows(source, offset: copied, limit: rowsPerInsert)
            if !rows.isEmpty {
                for row in rows { digester.add(row) }
                try target.execute(
                    "INSERT INTO \"\(table.name)\" (\(table.quotedColumns))\(overriding) VALUES "
                        + Array(repeating: rowPlaceholders, count: rows.count).joined(separator: ", "),
                    rows.flatMap { $0 }
                )
                copied += rows.count
                progress(CopyProgress(table: table.name, copied: copied, total: max(total, copied), batch: rows.count))
            }
            if rows.count < rowsPerInsert { return digester.digest(table.name) }
        }
    }

    /// Moves each identity column's sequence past the highest value the source gave: the largest copied value, or
    /// SQLite's `sqlite_sequence` for an AUTOINCREMENT key whose last rows were deleted (never reused).
    private func resetSequences(_ table: StoreTable) throws {
        for column in table.identityColumns {
            let copiedMaximum = try source.queryInt(#"SELECT max("\#(column)") FROM "\#(table.name)""#, []) ?? 0
            let hasSequences =
                try source.queryInt(
                    #"SELECT count(*) FROM "sqlite_master" WHERE "type" = 'table' AND "name" = 'sqlite_sequence'"#,
                    []
                ) == 1
            let given =
                hasSequences
                ? try source.queryInt(#"SELECT "seq" FROM "sqlite_sequence" WHERE "name" = ?"#, [.text(table.name)])
                    ?? 0 : 0
            let highest = max(copiedMaximum, given)
            guard highest > 0 else { continue }
            try target.execute(
                "SELECT setval(pg_get_serial_sequence(CAST(? AS TEXT), CAST(? AS TEXT)), CAST(? AS BIGINT), true)",
                [.text("\"\(table.name)\""), .text(column), .integer(highest)]
            )
        }
    }
}
