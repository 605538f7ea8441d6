import Foundation

extension CoordinatorStore {
    /// Records a new rollout with its waves (each a list of device ids, a device in one wave only) and appends
    /// `event`; returns the rollout's id. The record's `id` is ignored.
    public func createRollout(_ rollout: RolloutRecord, event: NewEvent) async throws -> Int64 {
        let seen = rollout.waves.flatMap { $0.devices.map(\.deviceID) }
        guard Set(seen).count == seen.count else {
            throw StoreError.invalidArgument.with("a device appears in two waves of one rollout")
        }
        let selector = try JSONColumn().encode(rollout.selector)
        return try await sqlWrite { connection in
            let inserted = try connection.queryOne(
                #"""
                INSERT INTO "rollout" ("model", "version", "variant", "previousVersion", "selector",
                    "soakMilliseconds", "minimumDevicesPerWave", "maximumInstallFailurePercent", "autoRollback",
                    "seed", "state", "wave", "reason", "createdAt", "updatedAt", "deviceTimeoutMilliseconds")
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id"
                """#,
                [
                    .text(rollout.model), SQLValue(rollout.version), .text(rollout.variant),
                    SQLValue(rollout.previousVersion), .text(selector), SQLValue(rollout.soakMilliseconds),
                    SQLValue(rollout.minimumDevicesPerWave), .real(rollout.maximumInstallFailurePercent),
                    .integer(rollout.autoRollback ? 1 : 0), .integer(Int64(bitPattern: rollout.seed)),
                    .text(rollout.state.rawValue), SQLValue(rollout.wave), .text(rollout.reason),
                    .integer(StoredDate.milliseconds(rollout.createdAt)),
                    .integer(StoredDate.milliseconds(rollout.updatedAt)),
                    SQLValue(rollout.deviceTimeoutMilliseconds.map(Int64.init)),
                ]
            )
            guard let id = try inserted?.int64("id") else {
                throw StoreError.corrupt.with("inserting a rollout returned no id")
            }
            for wave in rollout.waves {
                try connection.execute(
                    #"""
                    INSERT INTO "rolloutWave" ("rolloutID", "wave", "percent", "startedAt", "settledAt", "decision",
                        "reason") VALUES (?, ?, ?, NULL, NULL, ?, ?)
                    """#,
                    [
                        .integer(id), SQLValue(wave.number), SQLValue(wave.percent), .text(wave.decision),
                        .text(wave.reason),
                    ]
                )
                for device in wave.devices {
                    try connection.execute(
                        #"""
                        INSERT INTO "rolloutDevice" ("rolloutID", "deviceID", "wave", "outcome") VALUES (?, ?, ?, ?)
                        """#,
                        [.integer(id), .text(device.deviceID), SQLValue(wave.number), .text(device.outcome.rawValue)]
                    )
                }
            }
            var recorded = event
            recorded.detail = "rollout \(id): " + event.detail
            _ = try EventRow.append(recorded, in: connection)
            return id
        }
    }

    /// Saves a rollout's state, wave, reason and each wave's start, settlement, decision and reason (not its
    /// membership, which never changes), with the events of the decisions taken, in one transaction.
    public func saveRolloutProgress(_ rollout: RolloutRecord, events: [NewEvent]) async throws {
        try await sqlWrite { connection in
            let changed = try connection.execute(
                #"UPDATE "rollout" SET "state" = ?, "wave" = ?, "reason" = ?, "updatedAt" = ? WHERE "id" = ?"#,
                [
                    .text(rollout.state.rawValue), SQLValue(rollout.wave), .text(rollout.reason),
                    .integer(StoredDate.milliseconds(rollout.updatedAt)), .integer(rollout.id),
                ]
            )
            guard changed == 1 else { throw StoreError.notFound.with("no rollout \(rollout.id)") }
            for wave in rollout.waves {
                try connection.execute(
                    #"""
                    UPDATE "rolloutWave" SET "startedAt" = ?, "settledAt" = ?, "decision" = ?, "reason" = ?
                    WHERE "rolloutID" = ? AND "wave" = ?
                    """#,
                    [
                        SQLValue(wave.startedAt.map(StoredDate.milliseconds)),
                        SQLValue(wave.settledAt.map(StoredDate.milliseconds)), .text(wave.decision),
                        .text(wave.reason), .integer(rollout.id), SQLValue(wave.number),
                    ]
                )
            }
            for event in events { _ = try EventRow.append(event, in: connection) }
        }
    }

    /// Every rollout, newest first, or only those of `model`.
    public func rollouts(model: String? = nil) async throws -> [RolloutRecord] {
        try await sqlRead { connection in
            let rows =
                if let model {
                    try connection.query(
                        #"SELECT * FROM "rollout" WHERE "model" = ? ORDER BY "id" DESC"#,
                        [.text(model)]
                    )
                } else {
                    try connection.query(#"SELECT * FROM "rollout" ORDER BY "id" DESC"#, [])
                }
            return try rows.map { try Self.rollout(from: $0, in: connection) }
        }
    }

    public func rollout(id: Int64) async throws -> RolloutRecord? {
        try await sqlRead { connection in
            try connection.queryOne(#"SELECT * FROM "rollout" WHERE "id" = ?"#, [.integer(id)]).map {
                try Self.rollout(from: $0, in: connection)
            }
        }
    }

    private static func rollout(from row: SQLRow, in connection: any SQLConnection) throws -> RolloutRecord {
        let id = try row.int64("id")
        let stateName = try row.string("state")
        guard let state = RolloutRecord.State(rawValue: stateName) else {
            throw StoreError.corrupt.with("rollout \(id) has an unknown state \"\(stateName)\"")
        }
        var members: [Int: [RolloutDevice]] = [:]
        for device in try connection.query(
            #"SELECT "deviceID", "wave", "outcome" FROM "rolloutDevice" WHERE "rolloutID" = ? ORDER BY "deviceID""#,
            [.integer(id)]
        ) {
            let outcome = RolloutDevice.Outcome(rawValue: try device.string("outcome")) ?? .pending
            members[try device.int("wave"), default: []].append(
                RolloutDevice(deviceID: try device.string("deviceID"), outcome: outcome)
            )
        }
        let waves = try connection.query(
            #"""
            SELECT "wave", "percent", "startedAt", "settledAt", "decision", "reason" FROM "rolloutWave"
            WHERE "rolloutID" = ? ORDER BY "wave"
            """#,
            [.integer(id)]
        ).map { wave in
            let number = try wave.int("wave")
            return RolloutWave(
                number: number,
                percent: try wave.int("percent"),
                devices: members[number] ?? [],
                startedAt: try wave.optionalInt64("startedAt").map(StoredDate.date),
                settledAt: try wave.optionalInt64("settledAt").map(StoredDate.date),
                decision: try wave.string("decision"),
                reason: try wave.string("reason")
            )
        }
        return RolloutRecord(
            id: id,
            model: try row.string("model"),
            version: try row.int("version"),
            variant: try row.string("variant"),
            previousVersion: try row.int("previousVersion"),
            selector: try JSONColumn().decode(
                [String: String].self,
                from: try row.string("selector"),
                column: "rollout.selector"
            ),
            soakMilliseconds: try row.int("soakMilliseconds"),
            minimumDevicesPerWave: try row.int("minimumDevicesPerWave"),
            maximumInstallFailurePercent: try row.double("maximumInstallFailurePercent"),
            autoRollback: try row.int64("autoRollback") != 0,
            seed: UInt64(bitPattern: try row.int64("seed")),
            state: state,
            wave: try row.int("wave"),
            reason: try row.string("reason"),
            createdAt: StoredDate.date(try row.int64("createdAt")),
            updatedAt: StoredDate.date(try row.int64("updatedAt")),
            waves: waves,
            deviceTimeoutMilliseconds: try row.optionalInt64("deviceTimeoutMilliseconds").map(Int.init)
        )
    }

    /// Records what became of `model` `version` on a device of a started wave: an install (also after an earlier
    /// failure or a timeout, as agents retry and come back online), or a failure or refusal of a device that had not
    /// installed it.
    public func recordRolloutOutcome(deviceID: String, model: String, version: Int, installed: Bool) async throws {
        _ = try await sqlWrite { connection in
            try connection.execute(
                """
                UPDATE "rolloutDevice" SET "outcome" = ?
                WHERE "deviceID" = ?
                AND "outcome" \(installed ? "!= 'installed'" : "IN ('pending', 'timed-out')")
                AND "rolloutID" IN (SELECT "id" FROM "rollout" WHERE "model" = ? AND "version" = ?)
                """,
                [.text(installed ? "installed" : "failed"), .text(deviceID), .text(model), SQLValue(version)]
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
        try await sqlWrite { connection in
            var marked: [String] = []
            for deviceID in deviceIDs {
                let changed = try connection.execute(
                    #"""
                    UPDATE "rolloutDevice" SET "outcome" = 'timed-out'
                    WHERE "rolloutID" = ? AND "deviceID" = ? AND "outcome" = 'pending'
                    """#,
                    [.integer(rolloutID), .text(deviceID)]
                )
                guard changed == 1 else { continue }
                marked.append(deviceID)
                _ = try EventRow.append(event(deviceID), in: connection)
            }
            return marked
        }
    }

    /// The newest version (and variant, empty for any) a rollout's started wave assigns this device, if any.
    public func rolloutGrant(model: String, deviceID: String) async throws -> (version: Int, variant: String)? {
        try await sqlRead { connection in
            let row = try connection.queryOne(
                #"""
                SELECT r."version", r."variant" FROM "rolloutDevice" d
                JOIN "rollout" r ON r."id" = d."rolloutID"
                JOIN "rolloutWave" w ON w."rolloutID" = d."rolloutID" AND w."wave" = d."wave"
                WHERE d."deviceID" = ? AND r."model" = ? AND w."startedAt" IS NOT NULL
                ORDER BY r."version" DESC LIMIT 1
                """#,
                [.text(deviceID), .text(model)]
            )
            guard let row else { return nil }
            return (version: try row.int("version"), variant: try row.string("variant"))
        }
    }

    // MARK: Held versions (`model push --no-assign`)

    /// Holds `model` `version` back from every device outside a rollout's started waves; appends an event.
    public func holdVersion(model: String, version: Int, at: Date) async throws {
        try await sqlWrite { connection in
            let inserted = try connection.execute(
                connection.dialect.insertIgnoringConflicts(
                    into: "modelHold",
                    #"("model", "version", "heldAt") VALUES (?, ?, ?)"#
                ),
                [.text(model), SQLValue(version), .integer(StoredDate.milliseconds(at))]
            )
            guard inserted > 0 else { return }
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "version_held",
                    detail: "\(model) v\(version): assigned by rollouts only"
                ),
                in: connection
            )
        }
    }

    /// Releases the holds of `model` up to `version` (a later push without `--no-assign`, a completed rollout);
    /// appends an event for each.
    public func releaseHolds(model: String, upTo version: Int, why: String, at: Date) async throws {
        try await sqlWrite { connection in
            let released = try connection.query(
                #"SELECT "version" FROM "modelHold" WHERE "model" = ? AND "version" <= ? ORDER BY "version""#,
                [.text(model), SQLValue(version)]
            ).map { try $0.int("version") }
            try connection.execute(
                #"DELETE FROM "modelHold" WHERE "model" = ? AND "version" <= ?"#,
                [.text(model), SQLValue(version)]
            )
            for held in released {
                _ = try EventRow.append(
                    NewEvent(at: at, deviceID: nil, kind: "version_released", detail: "\(model) v\(held): \(why)"),
                    in: connection
                )
            }
        }
    }

    public func heldVersions(model: String) async throws -> Set<Int> {
        try await sqlRead { connection in
            Set(
                try connection.query(#"SELECT "version" FROM "modelHold" WHERE "model" = ?"#, [.text(model)]).map {
                    try $0.int("version")
                }
            )
        }
    }
}
