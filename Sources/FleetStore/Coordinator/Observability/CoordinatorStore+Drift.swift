import Foundation
import GRDB

extension CoordinatorStore {
    /// Stores (or replaces) a model version's reference package.
    public func setReferenceStatistics(model: String, version: Int, statistics: [UInt8], at: Date) async throws {
        try await write { db in
            try Self.storeReferenceStatistics(model: model, version: version, statistics: statistics, at: at, in: db)
        }
    }

    static func storeReferenceStatistics(
        model: String,
        version: Int,
        statistics: [UInt8],
        at: Date,
        in db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO "referenceStatistics" ("model", "version", "statistics", "createdAt")
                VALUES (?, ?, ?, ?)
                """,
            arguments: [model, version, Data(statistics), StoredDate.milliseconds(at)]
        )
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

    /// The newest version of `model` that has reference statistics, with them.
    public func latestReferenceStatistics(model: String) async throws -> (version: Int, statistics: [UInt8])? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT "version", "statistics" FROM "referenceStatistics" WHERE "model" = ?
                        ORDER BY "version" DESC LIMIT 1
                        """,
                    arguments: [model]
                )
            else { return nil }
            return (row["version"], [UInt8](row["statistics"] as Data))
        }
    }

    /// Stores a report once per device, model version and window start; returns false for a resent one.
    @discardableResult
    public func insertDriftReport(_ report: DriftReportRecord) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO "driftReport" ("deviceID", "model", "version", "windowStart", "windowEnd",
                        "sampleCount", "summary", "wireBytes", "receivedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    report.deviceID, report.model, report.version, StoredDate.milliseconds(report.windowStart),
                    StoredDate.milliseconds(report.windowEnd), report.sampleCount, Data(report.summary),
                    report.wireBytes, StoredDate.milliseconds(report.receivedAt),
                ]
            )
            return db.changesCount > 0
        }
    }

    /// The devices that reported on a model version.
    public func driftReportDevices(model: String, version: Int) async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: #"SELECT DISTINCT "deviceID" FROM "driftReport" WHERE "model" = ? AND "version" = ?"#,
                arguments: [model, version]
            )
        }
    }

    /// A device's newest reports on a model version, newest first, going back until they hold at least
    /// `minimumSamples` observations (or `limit` reports): the device's "current" view.
    public func recentDriftReports(
        deviceID: String,
        model: String,
        version: Int,
        minimumSamples: Int,
        limit: Int = 1_000
    ) async throws -> [DriftReportRecord] {
        try await read { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT * FROM "driftReport" WHERE "deviceID" = ? AND "model" = ? AND "version" = ?
                    ORDER BY "windowEnd" DESC, "id" DESC LIMIT ?
                    """,
                arguments: [deviceID, model, version, max(1, limit)]
            )
            var reports: [DriftReportRecord] = []
            var samples = 0
            while samples < max(1, minimumSamples), let row = try cursor.next() {
                let report = Self.driftReport(row)
                samples += report.sampleCount
                reports.append(report)
            }
            return reports
        }
    }

    /// Per device of `deviceIDs`, its reports on a model version received from `since` on, oldest first; devices
    /// without any are absent (the rollouts' drift gate: the same window as the health summaries).
    public func driftReports(
        model: String,
        version: Int,
        deviceIDs: [String],
        receivedSince since: Date
    ) async throws -> [String: [DriftReportRecord]] {
        guard !deviceIDs.isEmpty else { return [:] }
        return try await read { db in
            var reports: [String: [DriftReportRecord]] = [:]
            for chunk in stride(from: 0, to: deviceIDs.count, by: 500) {
                let ids = Array(deviceIDs[chunk..<min(chunk + 500, deviceIDs.count)])
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM "driftReport" WHERE "model" = ? AND "version" = ? AND "receivedAt" >= ?
                        AND "deviceID" IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                        ORDER BY "windowEnd", "id"
                        """,
                    arguments: StatementArguments(
                        [model, version, StoredDate.milliseconds(since)] as [any DatabaseValueConvertible] + ids
                    )
                )
                for row in rows {
                    let report = Self.driftReport(row)
                    reports[report.deviceID, default: []].append(report)
                }
            }
            return reports
        }
    }

    static func driftReport(_ row: Row) -> DriftReportRecord {
        DriftReportRecord(
            deviceID: row["deviceID"],
            model: row["model"],
            version: row["version"],
            windowStart: StoredDate.date(row["windowStart"]),
            windowEnd: StoredDate.date(row["windowEnd"]),
            sampleCount: row["sampleCount"],
            summary: [UInt8](row["summary"] as Data),
            wireBytes: row["wireBytes"],
            receivedAt: StoredDate.date(row["receivedAt"])
        )
    }

    /// Report count, total wire bytes and total observations of a model version (for the cost figures).
    public func driftReportTotals(model: String, version: Int) async throws -> (reports: Int, bytes: Int, samples: Int)
    {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS "n", COALESCE(SUM("wireBytes"), 0) AS "b", COALESCE(SUM("sampleCount"), 0) AS "s"
                    FROM "driftReport" WHERE "model" = ? AND "version" = ?
                    """,
                arguments: [model, version]
            )
            return (row?["n"] ?? 0, row?["b"] ?? 0, row?["s"] ?? 0)
        }
    }

    /// Records the alert state of a scope (`device:ID`, `region:NAME`, `fleet`) for a model. When it changed,
    /// appends `event` (called with the new state) in the same transaction and returns true.
    @discardableResult
    public func updateDriftAlert(
        scope: String,
        model: String,
        version: Int,
        drifted: Bool,
        at: Date,
        event: @escaping @Sendable (Bool) -> NewEvent
    ) async throws -> Bool {
        try await write { db in
            let previous = try Bool.fetchOne(
                db,
                sql: #"SELECT "drifted" FROM "driftAlert" WHERE "scope" = ? AND "model" = ?"#,
                arguments: [scope, model]
            )
            guard previous != drifted else { return false }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO "driftAlert" ("scope", "model", "version", "drifted", "changedAt")
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [scope, model, version, drifted, StoredDate.milliseconds(at)]
            )
            // A scope that was never drifted does not announce that it is not.
            if previous == nil && !drifted { return false }
            _ = try EventRow.append(event(drifted), in: db)
            return true
        }
    }
}
