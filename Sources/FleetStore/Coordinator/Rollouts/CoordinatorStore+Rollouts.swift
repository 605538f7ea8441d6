import Foundation
import GRDB

extension CoordinatorStore {
    /// Records a new rollout with its waves (each a list of device ids, a device in one wave only) and appends
    /// `event`; returns the rollout's id. The record's `id` is ignored.
    public func createRollout(_ rollout: RolloutRecord, event: NewEvent) async throws -> Int64 {
        let seen = rollout.waves.flatMap { $0.devices.map(\.deviceID) }
        guard Set(seen).count == seen.count else {
            throw StoreError.invalidArgument.with("a device appears in two waves of one rollout")
        }
        let selector = try JSONColumn().encode(rollout.selector)
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO "rollout" ("model", "version", "variant", "previousVersion", "selector",
                        "soakMilliseconds", "minimumDevicesPerWave", "maximumInstallFailurePercent", "autoRollback",
                        "seed", "state", "wave", "reason", "createdAt", "updatedAt", "deviceTimeoutMilliseconds")
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    rollout.model, rollout.version, rollout.variant, rollout.previousVersion,
                    selector, rollout.soakMilliseconds,
                    rollout.minimumDevicesPerWave, rollout.maximumInstallFailurePercent, rollout.autoRollback,
                    Int64(bitPattern: rollout.seed), rollout.state.rawValue, rollout.wave, rollout.reason,
                    StoredDate.milliseconds(rollout.createdAt), StoredDate.milliseconds(rollout.updatedAt),
                    rollout.deviceTimeoutMilliseconds,
                ]
            )
            let id = db.lastInsertedRowID
            for wave in rollout.waves {
                try db.execute(
                    sql: """
                        INSERT INTO "rolloutWave" ("rolloutID", "wave", "percent", "startedAt", "settledAt",
                            "decision", "reason") VALUES (?, ?, ?, NULL, NULL, ?, ?)
                        """,
                    arguments: [id, wave.number, wave.percent, wave.decision, wave.reason]
                )
                for device in wave.devices {
                    try db.execute(
                        sql: #"INSERT INTO "rolloutDevice" VALUES (?, ?, ?, ?)"#,
                        arguments: [id, device.deviceID, wave.number, device.outcome.rawValue]
                    )
                }
            }
            var recorded = event
            recorded.detail = "rollout \(id): " + event.detail
            _ = try EventRow.append(recorded, in: db)
            return id
        }
    }

    /// Saves a rollout's state, wave, reason and each wave's start, settlement, decision and reason (not its
    /// membership, which never changes), with the events of the decisions taken, in one transaction.
    public func saveRolloutProgress(_ rollout: RolloutRecord, events: [NewEvent]) async throws {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "rollout" SET "state" = ?, "wave" = ?, "reason" = ?, "updatedAt" = ? WHERE "id" = ?"#,
                arguments: [
                    rollout.state.rawValue, rollout.wave, rollout.reason, StoredDate.milliseconds(rollout.updatedAt),
                    rollout.id,
                ]
            )
            guard db.changesCount == 1 else { throw StoreError.notFound.with("no rollout \(rollout.id)") }
            for wave in rollout.waves {
                try db.execute(
                    sql: """
                        UPDATE "rolloutWave" SET "startedAt" = ?, "settledAt" = ?, "decision" = ?, "reason" = ?
                        WHERE "rolloutID" = ? AND "wave" = ?
                        """,
                    arguments: [
                        wave.startedAt.map(StoredDate.milliseconds), wave.settledAt.map(StoredDate.milliseconds),
                        wave.decision, wave.reason, rollout.id, wave.number,
                    ]
                )
            }
            for event in events { _ = try EventRow.append(event, in: db) }
        }
    }

    /// Every rollout, newest first, or only those of `model`.
    public func rollouts(model: String? = nil) async throws -> [RolloutRecord] {
        try await read { db in
            let rows =
                if let model {
                    try Row.fetchAll(
                        db,
                        sql: #"SELECT * FROM "rollout" WHERE "model" = ? ORDER BY "id" DESC"#,
                        arguments: [model]
                    )
                } else {
                    try Row.fetchAll(db, sql: #"SELECT * FROM "rollout" ORDER BY "id" DESC"#)
                }
            return try rows.map { try Self.rollout(from: $0, in: db) }
        }
    }

    public func rollout(id: Int64) async throws -> RolloutRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: #"SELECT * FROM "rollout" WHERE "id" = ?"#, arguments: [id]).map {
                try Self.rollout(from: $0, in: db)
            }
        }
    }

    private static func rollout(from row: Row, in db: Database) throws -> RolloutRecord {
        let id: Int64 = row["id"]
        let stateName: String = row["state"]
        guard let state = RolloutRecord.State(rawValue: stateName) else {
            throw StoreError.corrupt.with("rollout \(id) has an unknown state \"\(stateName)\"")
        }
        var members: [Int: [RolloutDevice]] = [:]
        for device in try Row.fetchAll(
            db,
            sql: #"SELECT * FROM "rolloutDevice" WHERE "rolloutID" = ? ORDER BY "deviceID""#,
            arguments: [id]
        ) {
            let outcome = RolloutDevice.Outcome(rawValue: device["outcome"]) ?? .pending
            members[device["wave"], default: []].append(RolloutDevice(deviceID: device["deviceID"], outcome: outcome))
        }
        let waves = try Row.fetchAll(
            db,
            sql: #"SELECT * FROM "rolloutWave" WHERE "rolloutID" = ? ORDER BY "wave""#,
            arguments: [id]
        ).map { wave in
            RolloutWave(
                number: wave["wave"],
                percent: wave["percent"],
                devices: members[wave["wave"]] ?? [],
                startedAt: (wave["startedAt"] as Int64?).map(StoredDate.date),
                settledAt: (wave["settledAt"] as Int64?).map(StoredDate.date),
                decision: wave["decision"],
                reason: wave["reason"]
            )
        }
        return RolloutRecord(
            id: id,
            model: row["model"],
            version: row["version"],
            variant: row["variant"],
            previousVersion: row["previousVersion"],
            selector: try JSONColumn().decode([String: String].self, from: row["selector"], column: "rollout.selector"),
            soakMilliseconds: row["soakMilliseconds"],
            minimumDevicesPerWave: row["minimumDevicesPerWave"],
            maximumInstallFailurePercent: row["maximumInstallFailurePercent"],
            autoRollback: row["autoRollback"],
            seed: UInt64(bitPattern: row["seed"]),
            state: state,
            wave: row["wave"],
            reason: row["reason"],
            createdAt: StoredDate.date(row["createdAt"]),
            updatedAt: StoredDate.date(row["updatedAt"]),
            waves: waves,
            deviceTimeoutMilliseconds: row["deviceTimeoutMilliseconds"]
        )
    }

    /// Records what became of `model` `version` on a device of a started wave: an install (also after an earlier
    /// failure or a timeout, as agents retry and come back online), or a failure or refusal of a device that had not
    /// installed it.
    public func recordRolloutOutcome(deviceID: String, model: String, version: Int, installed: Bool) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE "rolloutDevice" SET "outcome" = ?
                    WHERE "deviceID" = ?
                    AND "outcome" \(installed ? "!= 'installed'" : "IN ('pending', 'timed-out')")
                    AND "rolloutID" IN (SELECT "id" FROM "rollout" WHERE "model" = ? AND "version" = ?)
                    """,
                arguments: [installed ? "installed" : "failed", deviceID, model, version]
            )
        }
    }

    /// Marks those of `deviceIDs` whose outcome in rollout `rolloutID` is still `pending` as `timed-out`, with
    /// `event(deviceID)` appended for each, in one transaction; returns the devices marked (a device whose install
    /// was recorded meanwhile is not).
    public func markRolloutDevicesTimedOut(
        rolloutID: Int64,
        deviceIDs: [String],
        event: @escaping @Sendable (String) -> NewEvent
    ) async throws -> [String] {
        try await write { db in
            var marked: [String] = []
            for deviceID in deviceIDs {
                try db.execute(
                    sql: """
                        UPDATE "rolloutDevice" SET "outcome" = 'timed-out'
                        WHERE "rolloutID" = ? AND "deviceID" = ? AND "outcome" = 'pending'
                        """,
                    arguments: [rolloutID, deviceID]
                )
                guard db.changesCount == 1 else { continue }
                marked.append(deviceID)
                _ = try EventRow.append(event(deviceID), in: db)
            }
            return marked
        }
    }

    /// The newest version (and variant, empty for any) a rollout's started wave assigns this device, if any.
    public func rolloutGrant(model: String, deviceID: String) async throws -> (version: Int, variant: String)? {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT r."version", r."variant" FROM "rolloutDevice" d
                    JOIN "rollout" r ON r."id" = d."rolloutID"
                    JOIN "rolloutWave" w ON w."rolloutID" = d."rolloutID" AND w."wave" = d."wave"
                    WHERE d."deviceID" = ? AND r."model" = ? AND w."startedAt" IS NOT NULL
                    ORDER BY r."version" DESC LIMIT 1
                    """,
                arguments: [deviceID, model]
            )
            guard let row else { return nil }
            return (version: row["version"], variant: row["variant"])
        }
    }

    // MARK: Held versions (`model push --no-assign`)

    /// Holds `model` `version` back from every device outside a rollout's started waves; appends an event.
    public func holdVersion(model: String, version: Int, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: #"INSERT OR IGNORE INTO "modelHold" ("model", "version", "heldAt") VALUES (?, ?, ?)"#,
                arguments: [model, version, StoredDate.milliseconds(at)]
            )
            guard db.changesCount > 0 else { return }
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "version_held",
                    detail: "\(model) v\(version): assigned by rollouts only"
                ),
                in: db
            )
        }
    }

    /// Releases the holds of `model` up to `version` (a later push without `--no-assign`, a completed rollout);
    /// appends an event for each.
    public func releaseHolds(model: String, upTo version: Int, why: String, at: Date) async throws {
        try await write { db in
            let released = try Int.fetchAll(
                db,
                sql: #"SELECT "version" FROM "modelHold" WHERE "model" = ? AND "version" <= ? ORDER BY "version""#,
                arguments: [model, version]
            )
            try db.execute(
                sql: #"DELETE FROM "modelHold" WHERE "model" = ? AND "version" <= ?"#,
                arguments: [model, version]
            )
            for held in released {
                _ = try EventRow.append(
                    NewEvent(at: at, deviceID: nil, kind: "version_released", detail: "\(model) v\(held): \(why)"),
                    in: db
                )
            }
        }
    }

    public func heldVersions(model: String) async throws -> Set<Int> {
        try await read { db in
            Set(try Int.fetchAll(db, sql: #"SELECT "version" FROM "modelHold" WHERE "model" = ?"#, arguments: [model]))
        }
    }
}
