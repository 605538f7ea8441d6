/// The `modelVariant` table, on either backend. Typed values come from ``record(json:)``.
struct ModelVariantRow: SQLTableRow {
    static let tableName = "modelVariant"
    static let columnList =
        #""model", "version", "variant", "size", "sha256", "blobPath", "requirements", "metadata", "#
        + #""signedManifest", "createdAt""#

    private let row: SQLRow

    init(row: SQLRow) throws {
        self.row = row
    }

    func record(json: JSONColumn) throws -> ModelVariantRecord {
        ModelVariantRecord(
            model: try row.string("model"),
            version: try row.int("version"),
            variant: try row.string("variant"),
            size: try row.int("size"),
            sha256: try row.bytes("sha256"),
            blobPath: try row.string("blobPath"),
            requirements: try json.decode(
                [String: String].self,
                from: try row.string("requirements"),
                column: "modelVariant.requirements"
            ),
            metadata: try json.decode(
                [String: String].self,
                from: try row.string("metadata"),
                column: "modelVariant.metadata"
            ),
            signedManifest: try row.bytes("signedManifest"),
            createdAt: StoredDate.date(try row.int64("createdAt"))
        )
    }

    /// Stores a new variant; `duplicate` when its (model, version, variant) exists.
    static func insert(_ new: NewModelVariant, json: JSONColumn, in connection: any SQLConnection) throws {
        try connection.execute(
            "INSERT INTO \"modelVariant\" (\(columnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(new.model), SQLValue(new.version), .text(new.variant), SQLValue(new.size), .bytes(new.sha256),
                .text(new.blobPath), .text(try json.encode(new.requirements)), .text(try json.encode(new.metadata)),
                .bytes(new.signedManifest), .integer(StoredDate.milliseconds(new.createdAt)),
            ]
        )
    }

    /// Every variant of `model`, version descending then variant ascending (with `filter`, an extra
    /// `AND ...` condition, and its arguments).
    static func ofModel(
        _ model: String,
        and filter: String = "",
        _ arguments: [SQLValue] = [],
        in connection: any SQLConnection
    ) throws -> [ModelVariantRow] {
        try fetchAll(
            connection,
            #"WHERE "model" = ? "# + filter + #" ORDER BY "version" DESC, "variant""#,
            [.text(model)] + arguments
        )
    }

    static func find(
        model: String,
        version: Int,
        variant: String,
        in connection: any SQLConnection
    ) throws -> ModelVariantRow? {
        try fetchOne(
            connection,
            #"WHERE "model" = ? AND "version" = ? AND "variant" = ?"#,
            [.text(model), SQLValue(version), .text(variant)]
        )
    }
}
