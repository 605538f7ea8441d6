import Foundation
import GRDB

extension CoordinatorStore {
    /// A device's accepted consent records, in sequence order.
    public func consentRecords(deviceID: String) async throws -> [StoredConsentRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "consentRecord" WHERE "deviceID" = ? ORDER BY "sequence""#,
                arguments: [deviceID]
            ).map(Self.consentRecord)
        }
    }

    /// Every device's consent records, by device then sequence.
    public func allConsentRecords() async throws -> [StoredConsentRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: #"SELECT * FROM "consentRecord" ORDER BY "deviceID", "sequence""#)
                .map(Self.consentRecord)
        }
    }

    /// Appends an accepted record and, in the same transaction, erases the device's stored samples when
    /// `eraseSamples` is set (a `samples` revocation) and appends `events`. Returns how many sample rows were
    /// erased. `events` receives that count. Throws `duplicate` if the device already has a record with this sequence,
    /// or when its last stored record is no longer `lastSequence` (the one the new record was checked against).
    ///
    /// An erasure leaves no recoverable copy: the rows are overwritten with zeros (`secure_delete`), and the WAL,
    /// which still holds the pages as they were before, is checkpointed and truncated once the transaction commits.
    @discardableResult
    public func appendConsentRecord(
        _ record: StoredConsentRecord,
        after lastSequence: UInt64?,
        eraseSamples: Bool,
        events: @escaping @Sendable (_ erased: Int) -> [NewEvent] = { _ in [] }
    ) async throws -> Int {
        let erased = try await write { db in
            let exists =
                try Bool.fetchOne(
                    db,
                    sql: #"SELECT 1 FROM "consentRecord" WHERE "deviceID" = ? AND "sequence" = ?"#,
                    arguments: [record.deviceID, Int64(bitPattern: record.sequence)]
                ) ?? false
            if exists { throw StoreError.duplicate.with("consent record \(record.sequence) of \(record.deviceID)") }
            let last = try Int64.fetchOne(
                db,
                sql: #"SELECT MAX("sequence") FROM "consentRecord" WHERE "deviceID" = ?"#,
                arguments: [record.deviceID]
            ).map { UInt64(bitPattern: $0) }
            guard last == lastSequence else {
                throw StoreError.duplicate.with("consent records of \(record.deviceID) changed while one was checked")
            }
            try db.execute(
                sql: """
                    INSERT INTO "consentRecord"
                    ("deviceID", "sequence", "purpose", "action", "until", "issuedAt", "record", "receivedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.deviceID, Int64(bitPattern: record.sequence), record.purpose, record.action,
                    record.until.map(StoredDate.milliseconds), StoredDate.milliseconds(record.issuedAt),
                    Data(record.record), StoredDate.milliseconds(record.receivedAt),
                ]
            )
            var erased = 0
            if eraseSamples {
                erased = try Self.eraseSamples(deviceID: record.deviceID, in: db)
            }
            for event in events(erased) { _ = try EventRow.append(event, in: db) }
            return erased
        }
        if eraseSamples { try await truncateWAL() }
        return erased
    }

    static func consentRecord(_ row: Row) -> StoredConsentRecord {
        StoredConsentRecord(
            deviceID: row["deviceID"],
            sequence: UInt64(bitPattern: row["sequence"] as Int64),
            purpose: row["purpose"],
            action: row["action"],
            until: (row["until"] as Int64?).map(StoredDate.date),
            issuedAt: StoredDate.date(row["issuedAt"]),
            record: [UInt8](row["record"] as Data),
            receivedAt: StoredDate.date(row["receivedAt"])
        )
    }
}
