import Foundation

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
        try await sqlWrite { connection in
            try connection.execute(
                #"DELETE FROM "healthSummary" WHERE "receivedAt" < ?"#,
                [.integer(StoredDate.milliseconds(receivedAt.addingTimeInterval(-Self.healthRetention)))]
            )
            let inserted = try connection.queryOne(
                #"""
                INSERT INTO "healthSummary" ("deviceID", "receivedAt", "windowMilliseconds", "starts")
                VALUES (?, ?, ?, ?) RETURNING "id"
                """#,
                [
                    .text(deviceID), .integer(StoredDate.milliseconds(receivedAt)), SQLValue(windowMilliseconds),
                    SQLValue(starts),
                ]
            )
            guard let id = try inserted?.int64("id") else {
                throw StoreError.corrupt.with("inserting a health summary returned no id")
            }
            for (entry, latency, confidence) in encoded {
                try connection.execute(
                    #"""
                    INSERT INTO "healthEntry" ("summaryID", "model", "version", "queries", "errors", "latency",
                        "confidence", "labelled", "correct") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """#,
                    [
                        .integer(id), .text(entry.model), SQLValue(entry.version), SQLValue(entry.queries),
                        SQLValue(entry.errors), .text(latency), .text(confidence), SQLValue(entry.labelled),
                        SQLValue(entry.correct),
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
        return try await sqlRead { connection in
            var totals: [String: HealthCounts] = [:]
            for chunk in sqlInListChunks(deviceIDs) {
                let rows = try connection.query(
                    #"""
                    SELECT s."deviceID", e."queries", e."errors", e."latency", e."confidence", e."labelled",
                        e."correct"
                    FROM "healthEntry" e JOIN "healthSummary" s ON s."id" = e."summaryID"
                    WHERE e."model" = ? AND e."version" = ? AND s."receivedAt" >= ?
                    AND s."deviceID" IN (\#(chunk.placeholders))
                    """#,
                    [.text(model), SQLValue(version), .integer(StoredDate.milliseconds(since))]
                        + chunk.values.map(SQLValue.text)
                )
                for row in rows {
                    let counts = HealthCounts(
                        model: model,
                        version: version,
                        queries: try row.int("queries"),
                        errors: try row.int("errors"),
                        latency: try column.decode(
                            [Int].self,
                            from: try row.string("latency"),
                            column: "healthEntry.latency"
                        ),
                        confidence: try column.decode(
                            [Int].self,
                            from: try row.string("confidence"),
                            column: "healthEntry.confidence"
                        ),
                        labelled: try row.int("labelled"),
                        correct: try row.int("correct")
                    )
                    let device = try row.string("deviceID")
                    if totals[device] == nil { totals[device] = counts } else { totals[device]?.add(counts) }
                }
            }
            return totals
        }
    }

    /// Per device of `deviceIDs`, the agent starts its summaries received from `since` on reported.
    public func healthStarts(deviceIDs: [String], since: Date) async throws -> [String: Int] {
        guard !deviceIDs.isEmpty else { return [:] }
        return try await sqlRead { connection in
            var starts: [String: Int] = [:]
            for chunk in sqlInListChunks(deviceIDs) {
                for row in try connection.query(
                    #"""
                    SELECT "deviceID", \#(connection.dialect.integerSum(#""starts""#)) AS "starts" FROM "healthSummary"
                    WHERE "receivedAt" >= ? AND "deviceID" IN (\#(chunk.placeholders))
                    GROUP BY "deviceID"
                    """#,
                    [.integer(StoredDate.milliseconds(since))] + chunk.values.map(SQLValue.text)
                ) {
                    starts[try row.string("deviceID")] = try row.int("starts")
                }
            }
            return starts
        }
    }

    /// Records a rollout's health gate policy.
    public func setRolloutGates(rolloutID: Int64, policy: RolloutGatePolicy) async throws {
        let text = try JSONColumn().encode(policy)
        try await sqlWrite { connection in
            try connection.execute(
                connection.dialect.upsert(into: "rolloutGates", columns: ["rolloutID", "policy"], key: ["rolloutID"]),
                [.integer(rolloutID), .text(text)]
            )
        }
    }

    /// A rollout's health gate policy; nil for a rollout started without one (every gate off).
    public func rolloutGates(rolloutID: Int64) async throws -> RolloutGatePolicy? {
        let text = try await sqlRead { connection in
            try connection.queryOne(
                #"SELECT "policy" FROM "rolloutGates" WHERE "rolloutID" = ?"#,
                [.integer(rolloutID)]
            )?.string("policy")
        }
        return try text.map { try JSONColumn().decode(RolloutGatePolicy.self, from: $0, column: "rolloutGates.policy") }
    }

    /// Records the latest assessment of a wave's health (replacing the previous one).
    public func saveRolloutHealth(rolloutID: Int64, wave: Int, assessment: HealthAssessment) async throws {
        let text = try JSONColumn().encode(assessment)
        try await sqlWrite { connection in
            try connection.execute(
                connection.dialect.upsert(
                    into: "rolloutHealth",
                    columns: ["rolloutID", "wave", "assessment", "assessedAt"],
                    key: ["rolloutID", "wave"]
                ),
                [
                    .integer(rolloutID), SQLValue(wave), .text(text),
                    .integer(StoredDate.milliseconds(assessment.windowEnd)),
                ]
            )
        }
    }

    /// The latest assessment of each assessed wave of a rollout, by wave number.
    public func rolloutHealth(rolloutID: Int64) async throws -> [Int: HealthAssessment] {
        let rows = try await sqlRead { connection in
            try connection.query(
                #"SELECT "wave", "assessment" FROM "rolloutHealth" WHERE "rolloutID" = ?"#,
                [.integer(rolloutID)]
            ).map { (wave: try $0.int("wave"), text: try $0.string("assessment")) }
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
