import Foundation

extension CoordinatorStore {
    /// What ``insertSampleBatch(_:maximumRowsPerDevice:grantInForce:)`` did.
    public enum SampleAdmission: Sendable, Equatable {
        /// Stored under the consent record with this sequence.
        case stored(consentSequence: UInt64)
        /// A batch with this key was stored before (a resend after a reconnect); nothing changed.
        case alreadyStored
        /// The device's consent records, as they are inside the inserting transaction, grant no samples.
        case noConsent
        /// Storing it would pass the per-device cap; `held` rows are stored.
        case overCap(held: Int)
    }

    /// Stores a batch once per device and idempotency key, if the device's consent records, read inside the same
    /// transaction as the insert, grant it: `grantInForce` gets them and returns the sequence of the grant in
    /// force (nil: none). A revocation committed before this transaction refuses the batch; one committed after
    /// it erases the batch. `batch.consentSequence` is replaced by the sequence `grantInForce` returns.
    public func insertSampleBatch(
        _ batch: SampleBatchRecord,
        maximumRowsPerDevice: Int,
        grantInForce: @escaping @Sendable (_ records: [StoredConsentRecord]) -> UInt64?
    ) async throws -> SampleAdmission {
        try await sqlWrite { connection in
            if try Self.hasSampleBatch(deviceID: batch.deviceID, idempotencyKey: batch.idempotencyKey, in: connection) {
                return .alreadyStored
            }
            let records = try Self.consentRecords(deviceID: batch.deviceID, in: connection)
            guard let sequence = grantInForce(records) else { return .noConsent }
            let held = try Self.sampleRowCount(deviceID: batch.deviceID, in: connection)
            guard held + batch.rowCount <= maximumRowsPerDevice else { return .overCap(held: held) }
            var admitted = batch
            admitted.consentSequence = sequence
            try Self.insert(admitted, in: connection)
            return .stored(consentSequence: sequence)
        }
    }

    private static func insert(_ batch: SampleBatchRecord, in connection: any SQLConnection) throws {
        try connection.execute(
            connection.dialect.insertIgnoringConflicts(
                into: "sampleBatch",
                #"""
                ("deviceID", "idempotencyKey", "model", "rowCount", "compressedCSV", "consentSequence", "receivedAt")
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """#
            ),
            [
                .text(batch.deviceID), .text(batch.idempotencyKey), .text(batch.model), SQLValue(batch.rowCount),
                .bytes(batch.compressedCSV), .integer(Int64(bitPattern: batch.consentSequence)),
                .integer(StoredDate.milliseconds(batch.receivedAt)),
            ]
        )
    }

    /// Whether a batch with this key is already stored for the device.
    public func hasSampleBatch(deviceID: String, idempotencyKey: String) async throws -> Bool {
        try await sqlRead { connection in
            try Self.hasSampleBatch(deviceID: deviceID, idempotencyKey: idempotencyKey, in: connection)
        }
    }

    static func hasSampleBatch(
        deviceID: String,
        idempotencyKey: String,
        in connection: any SQLConnection
    ) throws
        -> Bool
    {
        try connection.queryOne(
            #"SELECT 1 FROM "sampleBatch" WHERE "deviceID" = ? AND "idempotencyKey" = ?"#,
            [.text(deviceID), .text(idempotencyKey)]
        ) != nil
    }

    /// Sample rows held for a device (all models).
    public func sampleRowCount(deviceID: String) async throws -> Int {
        try await sqlRead { connection in try Self.sampleRowCount(deviceID: deviceID, in: connection) }
    }

    static func sampleRowCount(deviceID: String, in connection: any SQLConnection) throws -> Int {
        let rows = connection.dialect.integerSum(#""rowCount""#)
        return Int(
            try connection.queryInt(
                #"SELECT COALESCE(\#(rows), 0) FROM "sampleBatch" WHERE "deviceID" = ?"#,
                [.text(deviceID)]
            ) ?? 0
        )
    }

    /// What is held, per device and model.
    public func sampleHoldings() async throws -> [SampleHolding] {
        try await sqlRead { connection in
            var sequences: [String: [UInt64]] = [:]
            for row in try connection.query(
                #"SELECT DISTINCT "deviceID", "model", "consentSequence" FROM "sampleBatch""#,
                []
            ) {
                sequences["\(try row.string("deviceID"))\u{0}\(try row.string("model"))", default: []].append(
                    UInt64(bitPattern: try row.int64("consentSequence"))
                )
            }
            return try connection.query(
                #"""
                SELECT "deviceID", "model", COUNT(*) AS "batches",
                    \#(connection.dialect.integerSum(#""rowCount""#)) AS "rows", MAX("receivedAt") AS "last"
                FROM "sampleBatch" GROUP BY "deviceID", "model" ORDER BY "deviceID", "model"
                """#,
                []
            ).map { row in
                let (deviceID, model) = (try row.string("deviceID"), try row.string("model"))
                return SampleHolding(
                    deviceID: deviceID,
                    model: model,
                    batches: try row.int("batches"),
                    rows: try row.int("rows"),
                    consentSequences: (sequences["\(deviceID)\u{0}\(model)"] ?? []).sorted(),
                    lastReceivedAt: StoredDate.date(try row.int64("last"))
                )
            }
        }
    }

    /// Every batch of a model, oldest first (for export).
    public func sampleBatches(model: String) async throws -> [SampleBatchRecord] {
        try await sqlRead { connection in
            try connection.query(
                #"SELECT * FROM "sampleBatch" WHERE "model" = ? ORDER BY "receivedAt", "deviceID""#,
                [.text(model)]
            ).map { row in
                SampleBatchRecord(
                    deviceID: try row.string("deviceID"),
                    idempotencyKey: try row.string("idempotencyKey"),
                    model: try row.string("model"),
                    rowCount: try row.int("rowCount"),
                    compressedCSV: try row.bytes("compressedCSV"),
                    consentSequence: UInt64(bitPattern: try row.int64("consentSequence")),
                    receivedAt: StoredDate.date(try row.int64("receivedAt"))
                )
            }
        }
    }

    /// Deletes the device's consented samples; returns how many sample rows they held. On either backend.
    static func eraseSamples(deviceID: String, in connection: any SQLConnection) throws -> Int {
        let rows = try sampleRowCount(deviceID: deviceID, in: connection)
        try connection.execute(#"DELETE FROM "sampleBatch" WHERE "deviceID" = ?"#, [.text(deviceID)])
        return rows
    }
}
