import FleetTrust

/// One table of the coordinator's PostgreSQL schema as a copy sees it: its columns in order, the primary key that
/// orders its rows, which columns hold bytes, text or reals, and which the database numbers (identity columns).
package struct StoreTable: Sendable, Equatable {
    /// How a column's values are stored; values read from either engine are brought to it (``normalized(_:)``).
    package enum Family: Sendable, Equatable {
        case integer, real, text, bytes
    }

    package let name: String
    package let columns: [String]
    package let families: [Family]
    /// The primary key's columns in key order; every column when the table has no primary key.
    package let orderColumns: [String]
    /// Columns PostgreSQL numbers (`GENERATED ALWAYS AS IDENTITY`): inserted with `OVERRIDING SYSTEM VALUE`, and
    /// their sequences moved past the copied values.
    package let identityColumns: [String]

    package init(name: String, columns: [String], families: [Family], orderColumns: [String], identityColumns: [String])
    {
        self.name = name
        self.columns = columns
        self.families = families
        self.orderColumns = orderColumns
        self.identityColumns = identityColumns
    }

    var quotedColumns: String { columns.map { "\"\($0)\"" }.joined(separator: ", ") }

    /// `ORDER BY` over the primary key, in byte order on both engines (SQLite's BINARY, PostgreSQL's "C" collation
    /// whatever the column's own).
    func orderBy(_ dialect: SQLDialect) -> String {
        orderColumns.map { column in
            let isText = columns.firstIndex(of: column).map { families[$0] == .text } ?? false
            return isText && dialect == .postgres ? "\"\(column)\" COLLATE \"C\"" : "\"\(column)\""
        }.joined(separator: ", ")
    }

    /// The rows `offset ..< offset + limit` in primary-key order, their values normalized to the column families.
    func rows(_ connection: any SQLConnection, offset: Int, limit: Int) throws -> [[SQLValue]] {
        try connection.query(
            "SELECT \(quotedColumns) FROM \"\(name)\" ORDER BY \(orderBy(connection.dialect)) LIMIT ? OFFSET ?",
            [.integer(Int64(limit)), .integer(Int64(offset))]
        ).map { row in
            try zip(columns, families).map { column, family in Self.normalized(try row.value(column), family) }
        }
    }

    /// `value` as the column family holds it: a whole REAL read back from an INTEGER column is the integer, an
    /// integer in a REAL column its double, text in a bytes column its UTF-8 (SQLite keeps whatever was bound).
    static func normalized(_ value: SQLValue, _ family: Family) -> SQLValue {
        switch (family, value) {
        case (.integer, .real(let real)): Int64(exactly: real).map(SQLValue.integer) ?? value
        case (.real, .integer(let integer)): .real(Double(integer))
        case (.bytes, .text(let text)): .bytes(Array(text.utf8))
        default: value
        }
    }

    /// The coordinator's tables in the PostgreSQL database `connection` is on, in the order they were created (a
    /// table referenced by another comes before it), without the migrations' own `schemaMigration`.
    package static func postgresSchema(_ connection: any SQLConnection) throws -> [StoreTable] {
        let names = try connection.query(
            #"""
            SELECT "c"."relname"::text AS "name" FROM pg_class "c" JOIN pg_namespace "n" ON "n"."oid" = "c"."relnamespace"
            WHERE "n"."nspname" = current_schema() AND "c"."relkind" = 'r' AND "c"."relname" <> 'schemaMigration'
            ORDER BY "c"."oid"
            """#,
            []
        ).map { try $0.string("name") }
        return try names.map { name in
            let columns = try connection.query(
                #"""
                SELECT "column_name"::text AS "name", "data_type"::text AS "type", "is_identity"::text AS "identity"
                FROM information_schema.columns WHERE "table_schema"::text = current_schema()
                    AND "table_name"::text = CAST(? AS TEXT)
                ORDER BY "ordinal_position"
                """#,
                [.text(name)]
            )
            let key = try connection.query(
                #"""
                SELECT "k"."column_name"::text AS "name" FROM information_schema.table_constraints "t"
                JOIN information_schema.key_column_usage "k" ON "k"."constraint_name" = "t"."constraint_name"
                    AND "k"."table_schema" = "t"."table_schema" AND "k"."table_name" = "t"."table_name"
                WHERE "t"."table_schema"::text = current_schema() AND "t"."table_name"::text = CAST(? AS TEXT)
                    AND "t"."constraint_type" = 'PRIMARY KEY'
                ORDER BY "k"."ordinal_position"
                """#,
                [.text(name)]
            ).map { try $0.string("name") }
            let names = try columns.map { try $0.string("name") }
            let families = try columns.map { row -> Family in
                switch try row.string("type") {
                case "bigint", "integer", "smallint", "boolean": .integer
                case "double precision", "real": .real
                case "bytea": .bytes
                default: .text
                }
            }
            return StoreTable(
                name: name,
                columns: names,
                families: families,
                orderColumns: key.isEmpty ? names : key,
                identityColumns: try columns.filter { try $0.string("identity") == "YES" }.map { try $0.string("name") }
            )
        }
    }

    /// Checks that the SQLite database `connection` is on has exactly `tables`, with the same columns in the same
    /// order: a table or column the copy would leave behind is refused (`incompatibleSchema`), with which.
    static func requireSameSchema(_ tables: [StoreTable], inSQLite connection: any SQLConnection) throws {
        let present = try connection.query(
            #"""
            SELECT "name" FROM "sqlite_master" WHERE "type" = 'table' AND "name" NOT LIKE 'sqlite_%'
                AND "name" NOT LIKE 'grdb_%' ORDER BY "name"
            """#,
            []
        ).map { try $0.string("name") }
        let expected = tables.map(\.name)
        let unknown = present.filter { !expected.contains($0) }
        let missing = expected.filter { !present.contains($0) }
        guard unknown.isEmpty && missing.isEmpty else {
            throw StoreError.incompatibleSchema.with(
                "the SQLite and PostgreSQL schemas differ (only in SQLite: \(unknown.joined(separator: ", ")); "
                    + "only in PostgreSQL: \(missing.joined(separator: ", "))): use the same TinyFleet version on both"
            )
        }
        for table in tables {
            let columns = try connection.query(
                #"SELECT "name" FROM pragma_table_info(?) ORDER BY "cid""#,
                [.text(table.name)]
            ).map { try $0.string("name") }
            guard columns == table.columns else {
                throw StoreError.incompatibleSchema.with(
                    "table \(table.name) has columns \(columns.joined(separator: ", ")) in SQLite and "
                        + "\(table.columns.joined(separator: ", ")) in PostgreSQL: use the same TinyFleet version on both"
                )
            }
        }
    }
}

/// A table's row count and the SHA-256 of its rows in primary-key order, computed the same way on either engine
/// (``TableDigester``), to compare a copy with its source.
package struct TableDigest: Sendable, Equatable, Codable {
    package let name: String
    package let rows: Int64
    /// Lower-case hexadecimal.
    package let sha256: String
}

/// Hashes rows of one table, one after the other: each value as a type tag and its bytes (integers and reals as 8
/// big-endian bytes, text and bytes with their length first, NULL as its tag alone), so that no two different
/// rows or row sequences hash alike by concatenation.
package struct TableDigester {
    private var hasher = BlobHasher()
    private var rows: Int64 = 0
    private var encoded: [UInt8] = []

    package init() {}

    package mutating func add(_ row: [SQLValue]) {
        encoded.removeAll(keepingCapacity: true)
        for value in row {
            switch value {
            case .null: encoded.append(0)
            case .integer(let integer): append(1, UInt64(bitPattern: integer))
            case .real(let real): append(2, real.bitPattern)
            case .text(let text): appendCounted(3, Array(text.utf8))
            case .bytes(let bytes): appendCounted(4, bytes)
            }
        }
        hasher.update(encoded)
        rows += 1
    }

    private mutating func append(_ tag: UInt8, _ word: UInt64) {
        encoded.append(tag)
        withUnsafeBytes(of: word.bigEndian) { encoded.append(contentsOf: $0) }
    }

    private mutating func appendCounted(_ tag: UInt8, _ bytes: [UInt8]) {
        append(tag, UInt64(bytes.count))
        encoded.append(contentsOf: bytes)
    }

    package func digest(_ table: String) -> TableDigest {
        TableDigest(name: table, rows: rows, sha256: Digest.hex(hasher.finalize()))
    }

    /// The digest of `table` as `connection` sees it, read `batchSize` rows at a time.
    package static func digest(
        _ table: StoreTable,
        _ connection: any SQLConnection,
        batchSize: Int
    ) throws
        -> TableDigest
    {
        var digester = TableDigester()
        var offset = 0
        while true {
            let rows = try table.rows(connection, offset: offset, limit: batchSize)
            for row in rows { digester.add(row) }
            offset += rows.count
            if rows.count < batchSize { return digester.digest(table.name) }
        }
    }
}
