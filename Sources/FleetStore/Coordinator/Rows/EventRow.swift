import Foundation
import GRDB

/// The `event` table.
struct EventRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "event"

    enum Columns {
        static let sequence = Column("sequence")
        static let deviceID = Column("deviceID")
        static let kind = Column("kind")
    }

    private var sequence: Int64?
    private var at: Int64
    private var deviceID: String?
    private var kind: String
    private var detail: String

    init(_ event: NewEvent) {
        sequence = nil
        at = StoredDate.milliseconds(event.at)
        deviceID = event.deviceID
        kind = event.kind
        detail = event.detail
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }

    func record() throws -> EventRecord {
        guard let sequence else {
            throw StoreError.corrupt.with("event without a sequence number")
        }
        return EventRecord(
            sequence: sequence,
            at: StoredDate.date(at),
            deviceID: deviceID,
            kind: kind,
            detail: detail
        )
    }

    /// Appends `event` and returns it as stored.
    static func append(_ event: NewEvent, in db: Database) throws -> EventRecord {
        var row = EventRow(event)
        try row.insert(db)
        return try row.record()
    }
}
