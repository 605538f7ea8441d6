import Foundation
import GRDB

extension CoordinatorStore {
    /// The device with this id, or nil.
    public func device(id: String) async throws -> DeviceRecord? {
        try await read { db in
            try DeviceRow.filter(DeviceRow.Columns.id == id).fetchOne(db)?.record(json: JSONColumn())
        }
    }

    /// The device enrolled with this public key, or nil.
    public func device(publicKey: [UInt8]) async throws -> DeviceRecord? {
        try await read { db in
            try DeviceRow.filter(DeviceRow.Columns.publicKey == Data(publicKey)).fetchOne(db)?
                .record(json: JSONColumn())
        }
    }

    /// All devices, ordered by name, then id.
    public func devices() async throws -> [DeviceRecord] {
        try await read { db in
            let json = JSONColumn()
            return try DeviceRow.order(DeviceRow.Columns.name, DeviceRow.Columns.id)
                .fetchAll(db)
                .map { try $0.record(json: json) }
        }
    }

    public func deviceCount() async throws -> Int {
        try await read { db in try DeviceRow.fetchCount(db) }
    }

    /// One transaction for the whole batch: sets lastSeen (and, when the update carries it, reported
    /// state: agent version, capabilities, installed models).
    ///
    /// lastSeen never moves backwards: an older date than the stored one leaves it as is. Updates for
    /// unknown device ids are ignored. Later updates in the batch win over earlier ones for the same device.
    public func recordHeartbeats(_ updates: [HeartbeatUpdate]) async throws {
        guard !updates.isEmpty else { return }
        try await write { db in
            let json = JSONColumn()
            let seen = try db.cachedStatement(
                sql: #"UPDATE "device" SET "lastSeen" = MAX(COALESCE("lastSeen", ?1), ?1) WHERE "id" = ?2"#
            )
            let seenAndReported = try db.cachedStatement(
                sql: #"""
                    UPDATE "device" SET "lastSeen" = MAX(COALESCE("lastSeen", ?1), ?1),
                        "agentVersion" = ?3, "capabilities" = ?4, "installedModels" = ?5
                    WHERE "id" = ?2
                    """#
            )
            for update in updates {
                let lastSeen = StoredDate.milliseconds(update.lastSeen)
                if let reported = update.reported {
                    try seenAndReported.execute(arguments: [
                        lastSeen,
                        update.deviceID,
                        reported.agentVersion,
                        try json.encode(reported.capabilities),
                        try json.encode(reported.installedModels.map(StoredInstalledModel.init)),
                    ])
                } else {
                    try seen.execute(arguments: [lastSeen, update.deviceID])
                }
            }
        }
    }

    /// Sets status; if it changed, appends an event ("online"/"offline", with `detail` or "") in the same
    /// transaction. Returns whether it changed. Throws `notFound` for an unknown device.
    @discardableResult
    public func setStatus(deviceID: String, status: DeviceStatus, at: Date, detail: String?) async throws -> Bool {
        try await write { db in
            guard let current = try DeviceRow.filter(DeviceRow.Columns.id == deviceID).fetchOne(db) else {
                throw StoreError.notFound.with("no device \(deviceID)")
            }
            guard current.status != status.rawValue else { return false }
            try db.execute(
                sql: #"UPDATE "device" SET "status" = ? WHERE "id" = ?"#,
                arguments: [status.rawValue, deviceID]
            )
            _ = try EventRow.append(
                NewEvent(at: at, deviceID: deviceID, kind: status.rawValue, detail: detail ?? ""),
                in: db
            )
            return true
        }
    }

    /// At coordinator start: every device marked online becomes offline, without an event per device.
    /// Always appends one fleet-wide "coordinator_started" event whose detail gives the count. Returns
    /// the count.
    public func markAllOffline(at: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: #"UPDATE "device" SET "status" = 'offline' WHERE "status" = 'online'"#
            )
            let count = db.changesCount
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "coordinator_started",
                    detail: "\(count) device(s) marked offline"
                ),
                in: db
            )
            return count
        }
    }
}
