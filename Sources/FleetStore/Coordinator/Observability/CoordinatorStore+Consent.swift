import Foundation

extension CoordinatorStore {
    /// A device's accepted consent records, in sequence order.
    public func consentRecords(deviceID: String) async throws -> [StoredConsentRecord] {
        try await sqlRead { connection in try Self.consentRecords(deviceID: deviceID, in: connection) }
    }

    static func consentRecords(deviceID: String, in connection: any SQLConnection) throws -> [StoredConsentRecord] {
        try connection.query(
            #"SELECT * FROM "consentRecord" WHERE "deviceID" = ? ORDER BY "sequence""#,
            [.text(deviceID)]
        ).map(Self.consentRecord)
    }

    /// Every device's consent records, by device then sequence.
    public func allConsentRecords() async throws -> [StoredConsentRecord] {
        try await sqlRead { connection in
            try connection.query(#"SELECT * FROM "consentRecord" ORDER BY "deviceID", "sequence""#, [])
                .map(Self.consentRecord)
        }
    }

    /// Appends an accepted record and, in the same transaction, erases the device's stored samples when
    /// `eraseSamples` is set (a `samples` revocation) and appends `events`. Returns how many sample rows were
    /// erased. `events` receives that count. Throws `duplicate` if the device already has a record with this sequence,
    /// or when its last stored record is no longer `lastSequence` (the one the new record was checked against).
    ///
    /// On SQLite an erasure leaves no recoverable copy: the rows are overwritten with zeros (`secure_delete`), and
    /// the WAL, which still holds the pages as they were before, is checkpointed and truncated once the transaction
    /// commits. On PostgreSQL the rows are deleted; their bytes stay in the table's dead tuples until a VACUUM and in
    /// the server's WAL until it is recycled (README, "PostgreSQL").
    @discardableResult
    public func appendConsentRecord(
        _ record: StoredConsentRecord,
        after lastSequence: UInt64?,
        eraseSamples: Bool,
        events: @escaping @Sendable (_ erased: Int) -> [NewEvent] = { _ in [] }
    ) async throws -> Int {
        let erased = try await sqlWrite { connection in
            let key = SQLValue.text(record.deviceID)
            let sequence = SQLValue.integer(Int64(bitPattern: record.sequence))
            if try connection.queryOne(
                #"SELECT 1 FROM "consentRecord" WHERE "deviceID" = ? AND "sequence" = ?"#,
                [key, sequence]
            ) != nil {
                throw StoreError.duplicate.with("consent record \(record.sequence) of \(record.deviceID)")
            }
            let last = try connection.queryInt(
                #"SELECT MAX("sequence") FROM "consentRecord" WHERE "deviceID" = ?"#,
                [key]
            ).map { UInt64(bitPattern: $0) }
            guard last == lastSequence else {
                throw StoreError.duplicate.with("consent records of \(record.deviceID) changed while one was checked")
            }
            try connection.execute(
                #"""
                INSERT INTO "consentRecord"
                ("deviceID", "sequence", "purpose", "action", "until", "issuedAt", "record", "receivedAt")
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """#,
                [
                    key, sequence, .text(record.purpose), .text(record.action),
                    SQLValue(record.until.map(StoredDate.milliseconds)),
                    .integer(StoredDate.milliseconds(record.issuedAt)),
                    .bytes(record.record), .integer(StoredDate.milliseconds(record.receivedAt)),
                ]
            )
            var erased = 0
            if eraseSamples { erased = try Self.eraseSamples(deviceID: record.deviceID, in: connection) }
            for event in events(erased) { _ = try EventRow.append(event, in: connection) }
            return erased
        }
        if eraseSamples, executor.dialect == .sqlite { try await truncateWAL() }
        return erased
    }

    static func consentRecord(_ row: SQLRow) throws -> StoredConsentRecord {
        StoredConsentRecord(
            deviceID: try row.string("deviceID"),
            sequence: UInt64(bitPattern: try row.int64("sequence")),
            purpose: try row.string("purpose"),
            action: try row.string("action"),
            until: try row.optionalInt64("until").map(StoredDate.date),
            issuedAt: StoredDate.date(try row.int64("issuedAt")),
            record: try row.bytes("record"),
            receivedAt: StoredDate.date(try row.int64("receivedAt"))
        )
    }
}
