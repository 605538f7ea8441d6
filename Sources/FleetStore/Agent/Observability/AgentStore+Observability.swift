import Foundation
import GRDB

extension AgentStore {
    // MARK: Consent

    /// Every consent record, in sequence order.
    public func consentRecords() async throws -> [AgentConsentRow] {
        try await read { db in try Self.consentRows(db) }
    }

    /// Appends the record `make` builds for the next sequence number (one above the last, from 1; it also gets
    /// the records stored so far, to check the new one against them), in one
    /// transaction; a `samples` revocation also empties the sample queue and a `drift-stats` revocation drops
    /// the open drift windows and unsent reports. Returns the record and how many queued samples were purged.
    ///
    /// What a revocation deletes leaves no recoverable copy: the rows are overwritten with zeros (`secure_delete`),
    /// and the WAL, which still holds the pages as they were before, is checkpointed and truncated after the commit.
    public func appendConsentRecord(
        _ make: @escaping @Sendable (_ sequence: UInt64, _ existing: [AgentConsentRow]) throws -> AgentConsentRow
    ) async throws -> (record: AgentConsentRow, purgedSamples: Int) {
        let appended = try await write { db in
            let last = try Int64.fetchOne(db, sql: #"SELECT MAX("sequence") FROM "consentRecord""#) ?? 0
            let record = try make(UInt64(last) + 1, try Self.consentRows(db))
            guard record.sequence > UInt64(last) else {
                throw StoreError.invalidArgument.with("consent sequence \(record.sequence) is not above \(last)")
            }
            try db.execute(
                sql: """
                    INSERT INTO "consentRecord" ("sequence", "purpose", "action", "until", "issuedAt", "record")
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Int64(record.sequence), record.purpose, record.action, record.until.map(StoredDate.milliseconds),
                    StoredDate.milliseconds(record.issuedAt), Data(record.record),
                ]
            )
            var purged = 0
            if record.action == "revoke" && record.purpose == "samples" {
                purged = try Int.fetchOne(db, sql: #"SELECT COUNT(*) FROM "sampleQueue""#) ?? 0
                try db.execute(sql: #"DELETE FROM "sampleQueue""#)
            }
            if record.action == "revoke" && record.purpose == "drift-stats" {
                try db.execute(sql: #"DELETE FROM "driftWindow"; DELETE FROM "driftPending""#)
            }
            return (record, purged)
        }
        if appended.0.action == "revoke" { try await truncateWAL() }
        return appended
    }

    /// Marks a record acknowledged by the coordinator.
    public func markConsentSynced(sequence: UInt64, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "consentRecord" SET "syncedAt" = ? WHERE "sequence" = ?"#,
                arguments: [StoredDate.milliseconds(at), Int64(sequence)]
            )
        }
    }

    /// Marks a record refused for good by the coordinator (it is not sent again).
    public func markConsentRefused(sequence: UInt64, reason: String, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "consentRecord" SET "syncedAt" = ?, "refused" = ? WHERE "sequence" = ?"#,
                arguments: [StoredDate.milliseconds(at), String(reason.prefix(500)), Int64(sequence)]
            )
        }
    }

    static func consentRows(_ db: Database) throws -> [AgentConsentRow] {
        try Row.fetchAll(db, sql: #"SELECT * FROM "consentRecord" ORDER BY "sequence""#).map { row in
            AgentConsentRow(
                sequence: UInt64(row["sequence"] as Int64),
                purpose: row["purpose"],
                action: row["action"],
                until: (row["until"] as Int64?).map(StoredDate.date),
                issuedAt: StoredDate.date(row["issuedAt"]),
                record: [UInt8](row["record"] as Data),
                syncedAt: (row["syncedAt"] as Int64?).map(StoredDate.date),
                refused: row["refused"]
            )
        }
    }

    // MARK: Samples

    /// Queues sample lines (CSV, matching `header`) for `model`, all or nothing: only if `consented` holds for
    /// the consent records as they are inside this transaction (a concurrent revocation wins), and within
    /// `limits`.
    public func enqueueSamples(
        model: String,
        header: String,
        lines: [String],
        now: Date,
        limits: SampleQueueLimits,
        consented: @escaping @Sendable ([AgentConsentRow]) -> Bool
    ) async throws -> SampleQueueResult {
        try await write { db in
            guard consented(try Self.consentRows(db)) else { return .noConsent }
            let row = try Row.fetchOne(
                db,
                sql: #"SELECT COUNT(*) AS "n", COALESCE(SUM("bytes"), 0) AS "b" FROM "sampleQueue""#
            )
            let count: Int = row?["n"] ?? 0
            let bytes: Int = row?["b"] ?? 0
            let newBytes = lines.reduce(0) { $0 + $1.utf8.count }
            guard count + lines.count <= limits.maximumRows, bytes + newBytes <= limits.maximumBytes else {
                return .queueFull(limit: limits.maximumRows)
            }
            let recent =
                try Int.fetchOne(
                    db,
                    sql: #"SELECT COUNT(*) FROM "sampleQueue" WHERE "createdAt" > ?"#,
                    arguments: [StoredDate.milliseconds(now) - 60_000]
                ) ?? 0
            guard recent + lines.count <= limits.maximumRowsPerMinute else {
                return .rateLimited(perMinute: limits.maximumRowsPerMinute)
            }
            let statement = try db.cachedStatement(
                sql:
                    #"INSERT INTO "sampleQueue" ("model", "header", "line", "bytes", "createdAt") VALUES (?, ?, ?, ?, ?)"#
            )
            for line in lines {
                try statement.execute(arguments: [model, header, line, line.utf8.count, StoredDate.milliseconds(now)])
            }
            return .queued(rows: lines.count, queueSize: count + lines.count)
        }
    }

    /// Queued samples per model.
    public func sampleQueueCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: #"SELECT "model", COUNT(*) AS "n" FROM "sampleQueue" GROUP BY "model""#
            ) {
                counts[row["model"]] = row["n"]
            }
            return counts
        }
    }

    /// The batch to upload next: the batch already formed and not yet acknowledged, if any (so a resend after
    /// a reconnect carries the same idempotency key); otherwise up to `maximumRows` of the oldest rows of one
    /// model, which then form a batch keyed `"<keyPrefix>-<first id>-<last id>"`.
    public func nextSampleBatch(maximumRows: Int, keyPrefix: String) async throws -> SampleUploadBatch? {
        try await write { db in
            if let key = try String.fetchOne(
                db,
                sql: #"SELECT "batchKey" FROM "sampleQueue" WHERE "batchKey" IS NOT NULL ORDER BY "id" LIMIT 1"#
            ) {
                return try Self.batch(key: key, db)
            }
            guard
                let first = try Row.fetchOne(
                    db,
                    sql: #"SELECT "model", "header" FROM "sampleQueue" ORDER BY "id" LIMIT 1"#
                )
            else { return nil }
            let ids = try Int64.fetchAll(
                db,
                sql: #"SELECT "id" FROM "sampleQueue" WHERE "model" = ? AND "header" = ? ORDER BY "id" LIMIT ?"#,
                arguments: [first["model"] as String, first["header"] as String, max(1, maximumRows)]
            )
            guard let low = ids.first, let high = ids.last else { return nil }
            let key = "\(keyPrefix)-\(low)-\(high)"
            try db.execute(
                sql: """
                    UPDATE "sampleQueue" SET "batchKey" = ?
                    WHERE "id" IN (SELECT "id" FROM "sampleQueue" WHERE "model" = ? AND "header" = ?
                                   ORDER BY "id" LIMIT ?)
                    """,
                arguments: [key, first["model"] as String, first["header"] as String, ids.count]
            )
            return try Self.batch(key: key, db)
        }
    }

    private static func batch(key: String, _ db: Database) throws -> SampleUploadBatch? {
        let rows = try Row.fetchAll(
            db,
            sql: #"SELECT "model", "header", "line" FROM "sampleQueue" WHERE "batchKey" = ? ORDER BY "id""#,
            arguments: [key]
        )
        guard let first = rows.first else { return nil }
        return SampleUploadBatch(
            key: key,
            model: first["model"],
            header: first["header"],
            lines: rows.map { $0["line"] }
        )
    }

    /// Removes an uploaded (or refused) batch; returns how many rows it held.
    @discardableResult
    public func removeSampleBatch(key: String) async throws -> Int {
        try await write { db in
            try db.execute(sql: #"DELETE FROM "sampleQueue" WHERE "batchKey" = ?"#, arguments: [key])
            return db.changesCount
        }
    }

    // MARK: Drift windows

    /// Updates the open window of a model version: `transform` gets its summary (nil when none is open) and
    /// returns the new one (nil: leave it). A new window starts at `now`.
    public func updateDriftWindow(
        model: String,
        version: Int,
        now: Date,
        _ transform: @escaping @Sendable ([UInt8]?) throws -> [UInt8]?
    ) async throws {
        try await write { db in
            let current = try Data.fetchOne(
                db,
                sql: #"SELECT "summary" FROM "driftWindow" WHERE "model" = ? AND "version" = ?"#,
                arguments: [model, version]
            ).map { [UInt8]($0) }
            guard let updated = try transform(current) else { return }
            if current == nil {
                try db.execute(
                    sql:
                        #"INSERT INTO "driftWindow" ("model", "version", "windowStart", "summary") VALUES (?, ?, ?, ?)"#,
                    arguments: [model, version, StoredDate.milliseconds(now), Data(updated)]
                )
            } else {
                try db.execute(
                    sql: #"UPDATE "driftWindow" SET "summary" = ? WHERE "model" = ? AND "version" = ?"#,
                    arguments: [Data(updated), model, version]
                )
            }
        }
    }

    /// Closes every open window: `finish` turns each summary into the report to send (nil: drop it), which is
    /// queued in `driftPending` (at most `maximumPending`, the oldest dropped first). Returns how many were queued.
    @discardableResult
    public func closeDriftWindows(
        now: Date,
        maximumPending: Int = 48,
        _ finish: @escaping @Sendable (_ model: String, _ version: Int, _ summary: [UInt8]) -> [UInt8]?
    ) async throws -> Int {
        try await write { db in
            var queued = 0
            for row in try Row.fetchAll(db, sql: #"SELECT * FROM "driftWindow""#) {
                let model: String = row["model"]
                let version: Int = row["version"]
                if let report = finish(model, version, [UInt8](row["summary"] as Data)) {
                    try db.execute(
                        sql:
                            #"INSERT INTO "driftPending" ("model", "version", "summary", "createdAt") VALUES (?, ?, ?, ?)"#,
                        arguments: [model, version, Data(report), StoredDate.milliseconds(now)]
                    )
                    queued += 1
                }
            }
            try db.execute(sql: #"DELETE FROM "driftWindow""#)
            try db.execute(
                sql: """
                    DELETE FROM "driftPending" WHERE "id" NOT IN
                    (SELECT "id" FROM "driftPending" ORDER BY "id" DESC LIMIT ?)
                    """,
                arguments: [max(1, maximumPending)]
            )
            return queued
        }
    }

    /// Closed windows not yet acknowledged, oldest first.
    public func pendingDriftReports(limit: Int) async throws -> [PendingDriftReport] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "driftPending" ORDER BY "id" LIMIT ?"#,
                arguments: [max(1, limit)]
            ).map {
                PendingDriftReport(
                    id: $0["id"],
                    model: $0["model"],
                    version: $0["version"],
                    summary: [UInt8]($0["summary"] as Data)
                )
            }
        }
    }

    public func removePendingDriftReport(id: Int64) async throws {
        try await write { db in
            try db.execute(sql: #"DELETE FROM "driftPending" WHERE "id" = ?"#, arguments: [id])
        }
    }

    /// The model versions with reference statistics (`model vN`), open windows and unsent reports.
    public func driftStatus() async throws -> (references: [String], openWindows: Int, pendingReports: Int) {
        try await read { db in
            let references = try Row.fetchAll(
                db,
                sql: #"SELECT "model", "version" FROM "referenceStatistics" ORDER BY "model", "version""#
            ).map { "\($0["model"] as String) v\($0["version"] as Int)" }
            let open = try Int.fetchOne(db, sql: #"SELECT COUNT(*) FROM "driftWindow""#) ?? 0
            let pending = try Int.fetchOne(db, sql: #"SELECT COUNT(*) FROM "driftPending""#) ?? 0
            return (references, open, pending)
        }
    }

    // MARK: Reference statistics

    public func setReferenceStatistics(model: String, version: Int, statistics: [UInt8]) async throws {
        try await write { db in
            try db.execute(
                sql:
                    #"INSERT OR REPLACE INTO "referenceStatistics" ("model", "version", "statistics") VALUES (?, ?, ?)"#,
                arguments: [model, version, Data(statistics)]
            )
        }
    }

    public func referenceStatistics(model: String, version: Int) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(
                db,
                sql: #"SELECT "statistics" FROM "referenceStatistics" WHERE "model" = ? AND "version" = ?"#,
                arguments: [model, version]
            ).map { [UInt8]($0) }
        }
    }
}
