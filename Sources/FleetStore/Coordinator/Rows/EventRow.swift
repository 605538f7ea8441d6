import Foundation
import GRDB

/// The `event` table.
struct EventRow: SQLTableRow {
    static let tableName = "event"
    /// The advisory lock PostgreSQL appenders take (``SQLDialect/appendOrderLock(_:)``): "EVNT".
    private static let appendLockKey: Int64 = 0x4556_4E54
    static let columnList = #""sequence", "at", "deviceID", "kind", "detail""#

    private var sequence: Int64
    private var at: Int64
    private var deviceID: String?
    private var kind: String
    private var detail: String

    init(row: SQLRow) throws {
        sequence = try row.int64("sequence")
        at = try row.int64("at")
        deviceID = try row.optionalString("deviceID")
        kind = try row.string("kind")
        detail = try row.string("detail")
    }

    func record() -> EventRecord {
        EventRecord(sequence: sequence, at: StoredDate.date(at), deviceID: deviceID, kind: kind, detail: detail)
    }

    /// Appends `event` and returns it as stored, with its sequence number.
    static func append(_ event: NewEvent, in connection: any SQLConnection) throws -> EventRecord {
        if let lock = connection.dialect.appendOrderLock(appendLockKey) {
            try connection.execute(lock, [])
        }
        let stored = try connection.queryOne(
            #"INSERT INTO "event" ("at", "deviceID", "kind", "detail") VALUES (?, ?, ?, ?) RETURNING \#(columnList)"#,
            [
                .integer(StoredDate.milliseconds(event.at)), SQLValue(event.deviceID), .text(event.kind),
                .text(event.detail),
            ]
        )
        guard let stored else { throw StoreError.corrupt.with("inserting an event returned no row") }
        return try EventRow(row: stored).record()
    }
}
