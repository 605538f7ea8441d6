import Foundation

/// Presence across coordinators (README "Several coordinators"): every coordinator writes the `lastSeen` of the
/// devices it hears from, in batches, and a device is marked offline only when the database has heard nothing of it
/// since, from any coordinator. So a coordinator never marks offline a device that moved to another one, and the
/// devices of a coordinator that died are marked offline by whichever coordinator sweeps first, once.
extension CoordinatorStore {
    /// A device marked online, and its last sign of life as the database has it.
    public struct SilentDevice: Sendable, Equatable {
        public var deviceID: String
        public var lastSeen: Date?

        public init(deviceID: String, lastSeen: Date?) {
            self.deviceID = deviceID
            self.lastSeen = lastSeen
        }
    }

    /// Up to `limit` devices marked online whose `lastSeen` is missing or not later than `seenNoLaterThan`, by id.
    public func silentOnlineDevices(seenNoLaterThan: Date, limit: Int) async throws -> [SilentDevice] {
        try await sqlRead { connection in
            try connection.query(
                #"""
                SELECT "id", "lastSeen" FROM "device"
                WHERE "status" = 'online' AND ("lastSeen" IS NULL OR "lastSeen" <= ?)
                ORDER BY "id" LIMIT ?
                """#,
                [.integer(StoredDate.milliseconds(seenNoLaterThan)), .integer(Int64(limit))]
            ).map { row in
                SilentDevice(
                    deviceID: try row.string("id"),
                    lastSeen: try row.optionalInt64("lastSeen").map(StoredDate.date)
                )
            }
        }
    }

    /// Marks the device offline, with an "offline" event carrying `detail`, only if it is online and the database
    /// has no sign of life of it later than `seenNoLaterThan`. Returns whether it changed: false for a device
    /// already offline, unknown, or heard from since (by this coordinator's last flush or another coordinator's).
    /// Two coordinators doing it at once record one change: the update re-checks its condition on the row it locks.
    @discardableResult
    public func markOfflineIfSilent(
        deviceID: String,
        seenNoLaterThan: Date,
        at: Date,
        detail: String
    ) async throws
        -> Bool
    {
        try await sqlWrite { connection in
            let changed = try connection.execute(
                #"""
                UPDATE "device" SET "status" = 'offline'
                WHERE "id" = ? AND "status" = 'online' AND ("lastSeen" IS NULL OR "lastSeen" <= ?)
                """#,
                [.text(deviceID), .integer(StoredDate.milliseconds(seenNoLaterThan))]
            )
            guard changed > 0 else { return false }
            _ = try EventRow.append(
                NewEvent(at: at, deviceID: deviceID, kind: DeviceStatus.offline.rawValue, detail: detail),
                in: connection
            )
            return true
        }
    }

    /// At coordinator start: the devices marked online but silent since `seenNoLaterThan` (their coordinator stopped
    /// or died longer than an offline timeout ago) become offline, without an event per device; one fleet-wide
    /// "coordinator_started" event gives the count. Devices heard from since stay online: another coordinator may
    /// hold them, and one that reconnects here stays online without flapping; if it does not, the sweep marks it
    /// offline once its timeout has passed. Returns the count.
    public func markSilentOffline(seenNoLaterThan: Date, at: Date) async throws -> Int {
        try await sqlWrite { connection in
            let count = try connection.execute(
                #"""
                UPDATE "device" SET "status" = 'offline'
                WHERE "status" = 'online' AND ("lastSeen" IS NULL OR "lastSeen" <= ?)
                """#,
                [.integer(StoredDate.milliseconds(seenNoLaterThan))]
            )
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "coordinator_started",
                    detail: "\(count) silent device(s) marked offline"
                ),
                in: connection
            )
            return count
        }
    }
}
