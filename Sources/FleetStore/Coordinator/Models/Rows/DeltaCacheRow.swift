/// The `deltaCache` table, keyed by (fromSHA256, toSHA256), on either backend.
struct DeltaCacheRow: SQLTableRow {
    static let tableName = "deltaCache"
    static let columnList =
        #""fromSHA256", "toSHA256", "encoding", "path", "size", "payloadSHA256", "createdAt""#

    let record: DeltaCacheRecord

    init(row: SQLRow) throws {
        record = DeltaCacheRecord(
            fromSHA256: try row.bytes("fromSHA256"),
            toSHA256: try row.bytes("toSHA256"),
            encoding: try row.string("encoding"),
            path: try row.string("path"),
            size: try row.int("size"),
            payloadSHA256: try row.bytes("payloadSHA256"),
            createdAt: StoredDate.date(try row.int64("createdAt"))
        )
    }

    /// Stores `record`, replacing the entry of the same (from, to) pair.
    static func replace(_ record: DeltaCacheRecord, in connection: any SQLConnection) throws {
        try connection.execute(
            connection.dialect.upsert(
                into: tableName,
                columns: ["fromSHA256", "toSHA256", "encoding", "path", "size", "payloadSHA256", "createdAt"],
                key: ["fromSHA256", "toSHA256"]
            ),
            [
                .bytes(record.fromSHA256), .bytes(record.toSHA256), .text(record.encoding), .text(record.path),
                SQLValue(record.size), .bytes(record.payloadSHA256),
                .integer(StoredDate.milliseconds(record.createdAt)),
            ]
        )
    }
}
