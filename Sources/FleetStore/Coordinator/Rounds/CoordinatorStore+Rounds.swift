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
                    ("round", "deviceID", "status", "sampleCount", "bytesUp", "bytesDown", "metrics", "updatedAt")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    participant.round, participant.deviceID, participant.status.rawValue, participant.sampleCount,
                    participant.bytesUp, participant.bytesDown, metrics, StoredDate.milliseconds(participant.updatedAt),
                ]
            )
        }
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
