import Foundation

extension CoordinatorStore {
    /// Opens a round; returns its id. Appends a "round_started" event.
    public func startRound(
        model: String,
        variant: String,
        baseVersion: Int,
        strategy: String,
        settings: [String: String],
        seed: UInt64,
        at: Date
    ) async throws -> Int {
        let settingsJSON = try JSONColumn().encode(settings)
        return try await sqlWrite { connection in
            let inserted = try connection.queryOne(
                #"""
                INSERT INTO "round" ("model", "variant", "baseVersion", "status", "strategy", "settings", "seed",
                    "startedAt")
                VALUES (?, ?, ?, 'running', ?, ?, ?, ?) RETURNING "id"
                """#,
                [
                    .text(model), .text(variant), SQLValue(baseVersion), .text(strategy), .text(settingsJSON),
                    .integer(Int64(bitPattern: seed)), .integer(StoredDate.milliseconds(at)),
                ]
            )
            guard let id = try inserted?.int("id") else {
                throw StoreError.corrupt.with("inserting a round returned no id")
            }
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "round_started",
                    detail: "round \(id): \(model) v\(baseVersion) \(variant), \(strategy)"
                ),
                in: connection
            )
            return id
        }
    }

    /// Closes a round with its outcome; appends "round_published" or "round_failed".
    public func finishRound(
        id: Int,
        status: RoundRecord.Status,
        publishedVersion: Int?,
        testAccuracy: Double?,
        bytesUp: Int,
        bytesDown: Int,
        detail: String,
        at: Date
    ) async throws {
        try await sqlWrite { connection in
            try connection.execute(
                #"""
                UPDATE "round" SET "status" = ?, "publishedVersion" = ?, "testAccuracy" = ?, "bytesUp" = ?,
                "bytesDown" = ?, "detail" = ?, "endedAt" = ? WHERE "id" = ?
                """#,
                [
                    .text(status.rawValue), SQLValue(publishedVersion.map(Int64.init)),
                    testAccuracy.map(SQLValue.real) ?? .null, SQLValue(bytesUp), SQLValue(bytesDown), .text(detail),
                    .integer(StoredDate.milliseconds(at)), SQLValue(id),
                ]
            )
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: status == .published ? "round_published" : "round_failed",
                    detail: "round \(id): \(detail)"
                ),
                in: connection
            )
        }
    }

    /// Records a device's part in a round, as a one-way status: a device is first `selected`; its answer makes
    /// it `updated` or `declined`, or the round's close makes it `dropped`; an answer after the close turns
    /// `dropped` into `late`. A status recorded from an answer is final: a later write (a repeated or late
    /// update) changes nothing, and `late` is not recorded for a device that was never sent the task.
    public func setParticipant(_ participant: RoundParticipantRecord) async throws {
        let metrics = try JSONColumn().encode(participant.metrics)
        try await sqlWrite { connection in
            guard try Self.mayRecord(participant, connection) else { return }
            try connection.execute(
                connection.dialect.upsert(
                    into: "roundParticipant",
                    columns: [
                        "round", "deviceID", "status", "sampleCount", "bytesUp", "bytesDown", "metrics", "reason",
                        "updatedAt",
                    ],
                    key: ["round", "deviceID"]
                ),
                [
                    SQLValue(participant.round), .text(participant.deviceID), .text(participant.status.rawValue),
                    SQLValue(participant.sampleCount), SQLValue(participant.bytesUp), SQLValue(participant.bytesDown),
                    .text(metrics), .text(participant.reason), .integer(StoredDate.milliseconds(participant.updatedAt)),
                ]
            )
        }
    }

    /// Notes why a participant's update counted differently than it asked (e.g. its sample weight capped).
    public func setParticipantReason(round: Int, deviceID: String, reason: String) async throws {
        try await sqlWrite { connection in
            try connection.execute(
                #"UPDATE "roundParticipant" SET "reason" = ? WHERE "round" = ? AND "deviceID" = ?"#,
                [.text(reason), SQLValue(round), .text(deviceID)]
            )
        }
    }

    /// Ends every round still `running` as failed with `detail` (a coordinator that stopped mid-round leaves
    /// them so), and records as failed the rounds its job had still to run, named by the round's `job`
    /// setting (`K/N`, round K of N). Returns the ids of the rounds ended or recorded.
    public func failInterruptedRounds(detail: String, skippedDetail: String, at: Date) async throws -> [Int] {
        let interrupted = try await rounds(model: nil).filter { $0.status == .running }
        var ended: [Int] = []
        for round in interrupted {
            try await finishRound(
                id: round.id,
                status: .failed,
                publishedVersion: nil,
                testAccuracy: nil,
                bytesUp: round.bytesUp,
                bytesDown: round.bytesDown,
                detail: detail,
                at: at
            )
            ended.append(round.id)
            let job = round.settings["job"]?.split(separator: "/").compactMap { Int($0) } ?? []
            guard job.count == 2, job[0] < job[1] else { continue }
            for _ in job[0]..<job[1] {
                var settings = round.settings
                settings["job"] = nil
                let id = try await startRound(
                    model: round.model,
                    variant: round.variant,
                    baseVersion: round.baseVersion,
                    strategy: round.strategy,
                    settings: settings,
                    seed: round.seed,
                    at: at
                )
                try await finishRound(
                    id: id,
                    status: .failed,
                    publishedVersion: nil,
                    testAccuracy: nil,
                    bytesUp: 0,
                    bytesDown: 0,
                    detail: skippedDetail,
                    at: at
                )
                ended.append(id)
            }
        }
        return ended
    }

    /// Whether `participant`'s status may follow the one recorded (see ``setParticipant(_:)``).
    private static func mayRecord(_ participant: RoundParticipantRecord, _ connection: any SQLConnection) throws -> Bool
    {
        let recorded = try connection.queryOne(
            #"SELECT "status" FROM "roundParticipant" WHERE "round" = ? AND "deviceID" = ?"#,
            [SQLValue(participant.round), .text(participant.deviceID)]
        ).map { try $0.string("status") }
        switch (recorded.flatMap(RoundParticipantRecord.Status.init(rawValue:)), participant.status) {
        case (nil, .late): return false
        case (nil, _), (.selected, _), (.dropped, .late): return true
        // The coordinator's own later verdict: an update taken at arrival, refused when the round aggregates it.
        case (.updated, .refused): return true
        default: return false
        }
    }

    public func rounds(model: String?) async throws -> [RoundRecord] {
        try await sqlRead { connection in
            let json = JSONColumn()
            let rows =
                if let model {
                    try connection.query(#"SELECT * FROM "round" WHERE "model" = ? ORDER BY "id""#, [.text(model)])
                } else {
                    try connection.query(#"SELECT * FROM "round" ORDER BY "id""#, [])
                }
            return try rows.map { try Self.roundRecord($0, json: json) }
        }
    }

    public func round(id: Int) async throws -> RoundRecord? {
        try await sqlRead { connection in
            try connection.queryOne(#"SELECT * FROM "round" WHERE "id" = ?"#, [SQLValue(id)]).map {
                try Self.roundRecord($0, json: JSONColumn())
            }
        }
    }

    public func participants(round: Int) async throws -> [RoundParticipantRecord] {
        try await sqlRead { connection in
            let json = JSONColumn()
            return try connection.query(
                #"SELECT * FROM "roundParticipant" WHERE "round" = ? ORDER BY "deviceID""#,
                [SQLValue(round)]
            ).map { row in
                RoundParticipantRecord(
                    round: try row.int("round"),
                    deviceID: try row.string("deviceID"),
                    status: RoundParticipantRecord.Status(rawValue: try row.string("status")) ?? .dropped,
                    sampleCount: try row.int("sampleCount"),
                    bytesUp: try row.int("bytesUp"),
                    bytesDown: try row.int("bytesDown"),
                    metrics: try json.decode(
                        [String: String].self,
                        from: try row.string("metrics"),
                        column: "roundParticipant.metrics"
                    ),
                    reason: try row.string("reason"),
                    updatedAt: StoredDate.date(try row.int64("updatedAt"))
                )
            }
        }
    }

    /// The held-out rows a model's rounds are evaluated on (CSV), if any.
    public func setEvaluationSet(model: String, csv: [UInt8], at: Date) async throws {
        try await sqlWrite { connection in
            try connection.execute(
                connection.dialect.upsert(
                    into: "evaluationSet",
                    columns: ["model", "csv", "updatedAt"],
                    key: ["model"]
                ),
                [.text(model), .bytes(csv), .integer(StoredDate.milliseconds(at))]
            )
        }
    }

    public func evaluationSet(model: String) async throws -> [UInt8]? {
        try await sqlRead { connection in
            try connection.queryOne(#"SELECT "csv" FROM "evaluationSet" WHERE "model" = ?"#, [.text(model)]).map {
                try $0.bytes("csv")
            }
        }
    }

    private static func roundRecord(_ row: SQLRow, json: JSONColumn) throws -> RoundRecord {
        RoundRecord(
            id: try row.int("id"),
            model: try row.string("model"),
            variant: try row.string("variant"),
            baseVersion: try row.int("baseVersion"),
            status: RoundRecord.Status(rawValue: try row.string("status")) ?? .failed,
            strategy: try row.string("strategy"),
            settings: try json.decode(
                [String: String].self,
                from: try row.string("settings"),
                column: "round.settings"
            ),
            seed: UInt64(bitPattern: try row.int64("seed")),
            startedAt: StoredDate.date(try row.int64("startedAt")),
            endedAt: try row.optionalInt64("endedAt").map(StoredDate.date),
            publishedVersion: try row.optionalInt64("publishedVersion").map { Int($0) },
            testAccuracy: try row.optionalDouble("testAccuracy"),
            bytesUp: try row.int("bytesUp"),
            bytesDown: try row.int("bytesDown"),
            detail: try row.string("detail")
        )
    }
}
