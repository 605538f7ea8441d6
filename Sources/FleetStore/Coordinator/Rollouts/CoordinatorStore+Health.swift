import Foundation
import GRDB

extension CoordinatorStore {
    /// How long health summaries are kept.
    public static let healthRetention: TimeInterval = 7 * 86_400

    /// Stores a device's health summary received at `receivedAt`; summaries older than ``healthRetention`` are
    /// removed on the way (the device's and everyone's).
    public func recordHealth(
        deviceID: String,
        receivedAt: Date,
        windowMilliseconds: Int,
        starts: Int,
        entries: [HealthCounts]
    ) async throws {
        let column = JSONColumn()
        let encoded = try entries.map { ($0, try column.encode($0.latency), try column.encode($0.confidence)) }
        try await write { db in
            try db.execute(
                sql: #"DELETE FROM "healthSummary" WHERE "receivedAt" < ?"#,
                arguments: [StoredDate.milliseconds(receivedAt.addingTimeInterval(-Self.healthRetention))]
            )
            try db.execute(
                sql: """
                    INSERT INTO "healthSummary" ("deviceID", "receivedAt", "windowMilliseconds", "starts")
                    VALUES (?, ?, ?, ?)
                    """,
                arguments: [deviceID, StoredDate.milliseconds(receivedAt), windowMilliseconds, starts]
            )
            let id = db.lastInsertedRowID
            for (entry, latency, confidence) in encoded {
                try db.execute(
                    sql: """
                        INSERT INTO "healthEntry" ("summaryID", "model", "version", "queries", "errors", "latency",
                            "confidence", "labelled", "correct") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id, entry.model, entry.version, entry.queries, entry.errors, latency, confidence,
                        entry.labelled, entry.correct,
                    ]
                )
            }
        }
    }

    /// Per device of `deviceIDs`, its counts for `model` `version` received from `since` on, summed; devices
    /// without any are absent.
    public func healthTotals(
        model: String,
        version: Int,
        deviceIDs: [String],
        since: Date
    ) async throws
        -> [String: HealthCounts]
    {
        guard !deviceIDs.isEmpty else { return [:] }
        let column = JSONColumn()
        return try await read { db in
            var totals: [String: HealthCounts] = [:]
            for chunk in stride(from: 0, to: deviceIDs.count, by: 500) {
                let ids = Array(deviceIDs[chunk..<min(chunk + 500, deviceIDs.count)])
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT s."deviceID", e.* FROM "healthEntry" e JOIN "healthSummary" s ON s."id" = e."summaryID"
                        WHERE e."model" = ? AND e."version" = ? AND s."receivedAt" >= ?
                        AND s."deviceID" IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                        """,
                    arguments: StatementArguments(
                        [model, version, StoredDate.milliseconds(since)] as [any DatabaseValueConvertible] + ids
                    )
                )
                for row in rows {
                    let counts = HealthCounts(
                        model: model,
                        version: version,
                        queries: row["queries"],
                        errors: row["errors"],
                        latency: try column.decode([Int].self, from: row["latency"], column: "healthEntry.latency"),
                        confidence: try column.decode(
                            [Int].self,
                            from: row["confidence"],
                            column: "healthEntry.confidence"
                        ),
                        labelled: row["labelled"],
                        correct: row["correct"]
                    )
                    let device: String = row["deviceID"]
                    if totals[device] == nil { totals[device] = counts } else { totals[device]?.add(counts) }
                }
            }
            return totals
        }
    }

    /// Per device of `deviceIDs`, the agent starts its summaries received from `since` on reported.
    public func healthStarts(deviceIDs: [String], since: Date) async throws -> [String: Int] {
        guard !deviceIDs.isEmpty else { return [:] }
        return try await read { db in
            var starts: [String: Int] = [:]
            for chunk in stride(from: 0, to: deviceIDs.count, by: 500) {
                let ids = Array(deviceIDs[chunk..<min(chunk + 500, deviceIDs.count)])
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT "deviceID", SUM("starts") AS "starts" FROM "healthSummary"
                        WHERE "receivedAt" >= ? AND "deviceID" IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                        GROUP BY "deviceID"
                        """,
                    arguments: StatementArguments(
                        [StoredDate.milliseconds(since)] as [any DatabaseValueConvertible] + ids
                    )
                ) {
                    starts[row["deviceID"]] = row["starts"]
                }
            }
            return starts
        }
    }

    /// Records a rollout's health gate policy.
    public func setRolloutGates(rolloutID: Int64, policy: RolloutGatePolicy) async throws {
        let text = try JSONColumn().encode(policy)
        try await write { db in
            try db.execute(
                sql: #"INSERT OR REPLACE INTO "rolloutGates" ("rolloutID", "policy") VALUES (?, ?)"#,
                arguments: [rolloutID, text]
            )
        }
    }

    /// A rollout's health gate policy; nil for a rollout started without one (every gate off).
    public func rolloutGates(rolloutID: Int64) async throws -> RolloutGatePolicy? {
        let text = try await read { db in
            try String.fetchOne(
                db,
                sql: #"SELECT "policy" FROM "rolloutGates" WHERE "rolloutID" = ?"#,
                arguments: [rolloutID]
            )
        }
        return try text.map { try JSONColumn().decode(RolloutGatePolicy.self, from: $0, column: "rolloutGates.policy") }
    }

    /// Records the latest assessment of a wave's health (replacing the previous one).
    public func saveRolloutHealth(rolloutID: Int64, wave: Int, assessment: HealthAssessment) async throws {
        let text = try JSONColumn().encode(assessment)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO "rolloutHealth" ("rolloutID", "wave", "assessment", "assessedAt")
                    VALUES (?, ?, ?, ?)
                    """,
                arguments: [rolloutID, wave, text, StoredDate.milliseconds(assessment.windowEnd)]
            )
        }
    }

    /// The latest assessment of each assessed wave of a rollout, by wave number.
    public func rolloutHealth(rolloutID: Int64) async throws -> [Int: HealthAssessment] {
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: #"SELECT "wave", "assessment" FROM "rolloutHealth" WHERE "rolloutID" = ?"#,
                arguments: [rolloutID]
            ).map { (wave: $0["wave"] as Int, text: $0["assessment"] as String) }
        }
        var assessments: [Int: HealthAssessment] = [:]
        for row in rows {
            assessments[row.wave] = try JSONColumn().decode(
                HealthAssessment.self,
                from: row.text,
                column: "rolloutHealth.assessment"
            )
        }
        return assessments
    }
}
