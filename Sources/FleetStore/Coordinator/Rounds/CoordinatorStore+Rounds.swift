import Foundation
import GRDB

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
        let settingsJSON = try Self.json(settings)
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO "round" ("model", "variant", "baseVersion", "status", "strategy", "settings", "seed", "startedAt")
                    VALUES (?, ?, ?, 'running', ?, ?, ?, ?)
                    """,
                arguments: [
                    model, variant, baseVersion, strategy, settingsJSON, Int64(bitPattern: seed),
                    StoredDate.milliseconds(at),
                ]
            )
            let id = Int(db.lastInsertedRowID)
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "round_started",
                    detail: "round \(id): \(model) v\(baseVersion) \(variant), \(strategy)"
                ),
                in: db
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
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE "round" SET "status" = ?, "publishedVersion" = ?, "testAccuracy" = ?, "bytesUp" = ?,
                    "bytesDown" = ?, "detail" = ?, "endedAt" = ? WHERE "id" = ?
                    """,
                arguments: [
                    status.rawValue, publishedVersion, testAccuracy, bytesUp, bytesDown, detail,
                    StoredDate.milliseconds(at), id,
                ]
            )
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: status == .published ? "round_published" : "round_failed",
                    detail: "round \(id): \(detail)"
                ),
                in: db
            )
        }
    }

    /// Records a device's part in a round, as a one-way status: a device is first `selected`; its answer makes
    /// it `updated` or `declined`, or the round's close makes it `dropped`; an answer after the close turns
    /// `dropped` into `late`. A status recorded from an answer is final: a later write (a repeated or late
    /// update) changes nothing, and `late` is not recorded for a device that was never sent the task.
    public func setParticipant(_ participant: RoundParticipantRecord) async throws {
        let metrics = try Self.json(participant.metrics)
        try await write { db in
            guard try Self.mayRecord(participant, db) else { return }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO "roundParticipant"
                    ("round", "deviceID", "status", "sampleCount", "bytesUp", "bytesDown", "metrics", "reason",
                    "updatedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    participant.round, participant.deviceID, participant.status.rawValue, participant.sampleCount,
                    participant.bytesUp, participant.bytesDown, metrics, participant.reason,
                    StoredDate.milliseconds(participant.updatedAt),
                ]
            )
        }
    }

    /// Notes why a participant's update counted differently than it asked (e.g. its sample weight capped).
    public func setParticipantReason(round: Int, deviceID: String, reason: String) async throws {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "roundParticipant" SET "reason" = ? WHERE "round" = ? AND "deviceID" = ?"#,
                arguments: [reason, round, deviceID]
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
    private static func mayRecord(_ participant: RoundParticipantRecord, _ db: Database) throws -> Bool {
        let recorded = try String.fetchOne(
            db,
            sql: #"SELECT "status" FROM "roundParticipant" WHERE "round" = ? AND "deviceID" = ?"#,
            arguments: [participant.round, participant.deviceID]
        )
        switch (recorded.flatMap(RoundParticipantRecord.Status.init(rawValue:)), participant.status) {
        case (nil, .late): return false
        case (nil, _), (.selected, _), (.dropped, .late): return true
        // The coordinator's own later verdict: an update taken at arrival, refused when the round aggregates it.
        case (.updated, .refused): return true
        default: return false
        }
    }

    public func rounds(model: String?) async throws -> [RoundRecord] {
        try await read { db in
            let rows: [Row]
            if let model {
                rows = try Row.fetchAll(
                    db,
                    sql: #"SELECT * FROM "round" WHERE "model" = ? ORDER BY "id""#,
                    arguments: [model]
                )
            } else {
                rows = try Row.fetchAll(db, sql: #"SELECT * FROM "round" ORDER BY "id""#)
            }
            return try rows.map(Self.roundRecord)
        }
    }

    public func round(id: Int) async throws -> RoundRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: #"SELECT * FROM "round" WHERE "id" = ?"#, arguments: [id]).map(Self.roundRecord)
        }
    }

    public func participants(round: Int) async throws -> [RoundParticipantRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"SELECT * FROM "roundParticipant" WHERE "round" = ? ORDER BY "deviceID""#,
                arguments: [round]
            )
            .map { row in
                RoundParticipantRecord(
                    round: row["round"],
                    deviceID: row["deviceID"],
                    status: RoundParticipantRecord.Status(rawValue: row["status"]) ?? .dropped,
                    sampleCount: row["sampleCount"],
                    bytesUp: row["bytesUp"],
                    bytesDown: row["bytesDown"],
                    metrics: try Self.map(row["metrics"]),
                    reason: row["reason"],
                    updatedAt: StoredDate.date(row["updatedAt"])
                )
            }
        }
    }

    /// The held-out rows a model's rounds are evaluated on (CSV), if any.
    public func setEvaluationSet(model: String, csv: [UInt8], at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: #"INSERT OR REPLACE INTO "evaluationSet" ("model", "csv", "updatedAt") VALUES (?, ?, ?)"#,
                arguments: [model, Data(csv), StoredDate.milliseconds(at)]
            )
        }
    }

    public func evaluationSet(model: String) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(db, sql: #"SELECT "csv" FROM "evaluationSet" WHERE "model" = ?"#, arguments: [model]).map(
                Array.init
            )
        }
    }

    private static func roundRecord(_ row: Row) throws -> RoundRecord {
        RoundRecord(
            id: row["id"],
            model: row["model"],
            variant: row["variant"],
            baseVersion: row["baseVersion"],
            status: RoundRecord.Status(rawValue: row["status"]) ?? .failed,
            strategy: row["strategy"],
            settings: try map(row["settings"]),
            seed: UInt64(bitPattern: row["seed"]),
            startedAt: StoredDate.date(row["startedAt"]),
            endedAt: (row["endedAt"] as Int64?).map(StoredDate.date),
            publishedVersion: row["publishedVersion"],
            testAccuracy: row["testAccuracy"],
            bytesUp: row["bytesUp"],
            bytesDown: row["bytesDown"],
            detail: row["detail"]
        )
    }

    private static func json(_ map: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(map), as: UTF8.self)
    }

    private static func map(_ text: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.corrupt.with("settings/metrics JSON: \(error)")
        }
    }
}
