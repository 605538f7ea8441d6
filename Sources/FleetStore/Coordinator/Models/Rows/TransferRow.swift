/// The `modelTransfer` table, on either backend.
struct TransferRow: SQLTableRow {
    static let tableName = "modelTransfer"
    static let columnList =
        #""sequence", "deviceID", "model", "version", "variant", "encoding", "baseVersion", "wireBytes", "#
        + #""fullBytes", "fileBytes", "startedAt", "completedAt", "resumedFrom""#

    let transfer: TransferRecord

    init(row: SQLRow) throws {
        transfer = TransferRecord(
            sequence: try row.int64("sequence"),
            deviceID: try row.string("deviceID"),
            model: try row.string("model"),
            version: try row.int("version"),
            variant: try row.string("variant"),
            encoding: try row.string("encoding"),
            baseVersion: try row.optionalInt64("baseVersion").map { Int($0) },
            wireBytes: try row.int("wireBytes"),
            fullBytes: try row.int("fullBytes"),
            fileBytes: try row.int("fileBytes"),
            startedAt: StoredDate.date(try row.int64("startedAt")),
            completedAt: StoredDate.date(try row.int64("completedAt")),
            resumedFrom: try row.int("resumedFrom")
        )
    }

    /// Appends `transfer` to the log and returns it as stored, with its sequence number.
    static func insert(_ transfer: NewTransfer, in connection: any SQLConnection) throws -> TransferRecord {
        let stored = try connection.queryOne(
            #"""
            INSERT INTO "modelTransfer" ("deviceID", "model", "version", "variant", "encoding", "baseVersion",
                "wireBytes", "fullBytes", "fileBytes", "startedAt", "completedAt", "resumedFrom")
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING \#(columnList)
            """#,
            [
                .text(transfer.deviceID), .text(transfer.model), SQLValue(transfer.version), .text(transfer.variant),
                .text(transfer.encoding), SQLValue(transfer.baseVersion.map(Int64.init)), SQLValue(transfer.wireBytes),
                SQLValue(transfer.fullBytes), SQLValue(transfer.fileBytes),
                .integer(StoredDate.milliseconds(transfer.startedAt)),
                .integer(StoredDate.milliseconds(transfer.completedAt)), SQLValue(transfer.resumedFrom),
            ]
        )
        guard let stored else { throw StoreError.corrupt.with("inserting a transfer returned no row") }
        return try TransferRow(row: stored).transfer
    }

}
