import Foundation

extension CoordinatorStore {
    /// Stores a report once per device, model version and window start; returns false for a resent one.
    @discardableResult
    public func insertDriftReport(_ report: DriftReportRecord) async throws -> Bool {
        try await sqlWrite { connection in
            try connection.execute(
                connection.dialect.insertIgnoringConflicts(
                    into: "driftReport",
                    #"""
                    ("deviceID", "model", "version", "windowStart", "windowEnd", "sampleCount", "summary",
                        "wireBytes", "receivedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """#
                ),
                [
                    .text(report.deviceID), .text(report.model), SQLValue(report.version),
                    .integer(StoredDate.milliseconds(report.windowStart)),
                    .integer(StoredDate.milliseconds(report.windowEnd)), SQLValue(report.sampleCount),
                    .bytes(report.summary), SQLValue(report.wireBytes),
                    .integer(StoredDate.milliseconds(report.receivedAt)),
                ]
            ) > 0
        }
    }

    /// The devices that reported on a model version.
    public func driftReportDevices(model: String, version: Int) async throws -> [String] {
        try await sqlRead { connection in
            try connection.query(
                #"SELECT DISTINCT "deviceID" FROM "driftReport" WHERE "model" = ? AND "version" = ?"#,
                [.text(model), SQLValue(version)]
            ).map { try $0.string("deviceID") }
        }
    }

    /// A device's newest reports on a model version, newest first, going back until they hold at least
    /// `minimumSamples` observations (or `limit` reports): the device's "current" view. Read a page of 16 at a
    /// time, so that a device with many small reports costs no more memory than the reports returned.
    public func recentDriftReports(
        deviceID: String,
        model: String,
        version: Int,
        minimumSamples: Int,
        limit: Int = 1_000
    ) async throws -> [DriftReportRecord] {
        try await sqlRead { connection in
            let page = 16
            var reports: [DriftReportRecord] = []
            var samples = 0
            while samples < max(1, minimumSamples), reports.count < max(1, limit) {
                let rows = try connection.query(
                    #"""
                    SELECT * FROM "driftReport" WHERE "deviceID" = ? AND "model" = ? AND "version" = ?
                    ORDER BY "windowEnd" DESC, "id" DESC LIMIT ? OFFSET ?
                    """#,
                    [
                        .text(deviceID), .text(model), SQLValue(version),
                        SQLValue(min(page, max(1, limit) - reports.count)), SQLValue(reports.count),
                    ]
                )
                for row in rows where samples < max(1, minimumSamples) {
                    let report = try Self.driftReport(row)
                    samples += report.sampleCount
                    reports.append(report)
                }
                if rows.count < page { break }
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
        return try await sqlRead { connection in
            var reports: [String: [DriftReportRecord]] = [:]
            for chunk in sqlInListChunks(deviceIDs) {
                let rows = try connection.query(
                    #"""
                    SELECT * FROM "driftReport" WHERE "model" = ? AND "version" = ? AND "receivedAt" >= ?
                    AND "deviceID" IN (\#(chunk.placeholders))
                    ORDER BY "windowEnd", "id"
                    """#,
                    [.text(model), SQLValue(version), .integer(StoredDate.milliseconds(since))]
                        + chunk.values.map(SQLValue.text)
                )
                for row in rows {
                    let report = try Self.driftReport(row)
                    reports[report.deviceID, default: []].append(report)
                }
            }
            return reports
        }
    }

    static func driftReport(_ row: SQLRow) throws -> DriftReportRecord {
        DriftReportRecord(
            deviceID: try row.string("deviceID"),
            model: try row.string("model"),
            version: try row.int("version"),
            windowStart: StoredDate.date(try row.int64("windowStart")),
            windowEnd: StoredDate.date(try row.int64("windowEnd")),
            sampleCount: try row.int("sampleCount"),
            summary: try row.bytes("summary"),
            wireBytes: try row.int("wireBytes"),
            receivedAt: StoredDate.date(try row.int64("receivedAt"))
        )
    }

    /// Report count, total wire bytes and total observations of a model version (for the cost figures).
    public func driftReportTotals(model: String, version: Int) async throws -> (reports: Int, bytes: Int, samples: Int)
    {
        try await sqlRead { connection in
            let dialect = connection.dialect
            let row = try connection.queryOne(
                #"""
                SELECT COUNT(*) AS "n", COALESCE(\#(dialect.integerSum(#""wireBytes""#)), 0) AS "b",
                    COALESCE(\#(dialect.integerSum(#""sampleCount""#)), 0) AS "s"
                FROM "driftReport" WHERE "model" = ? AND "version" = ?
                """#,
                [.text(model), SQLValue(version)]
            )
            guard let row else { return (0, 0, 0) }
            return (try row.int("n"), try row.int("b"), try row.int("s"))
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
        try await sqlWrite { connection in
            let previous = try connection.queryOne(
                #"SELECT "drifted" FROM "driftAlert" WHERE "scope" = ? AND "model" = ?"#,
                [.text(scope), .text(model)]
            ).map { try $0.int64("drifted") != 0 }
            guard previous != drifted else { return false }
            try connection.execute(
                connection.dialect.upsert(
                    into: "driftAlert",
                    columns: ["scope", "model", "version", "drifted", "changedAt"],
                    key: ["scope", "model"]
                ),
                [
                    .text(scope), .text(model), SQLValue(version), .integer(drifted ? 1 : 0),
                    .integer(StoredDate.milliseconds(at)),
                ]
            )
            // A scope that was never drifted does not announce that it is not.
            if previous == nil && !drifted { return false }
            _ = try EventRow.append(event(drifted), in: connection)
            return true
        }
    }
}
