import Foundation

extension CoordinatorStore {
    /// The device with this id, or nil.
    public func device(id: String) async throws -> DeviceRecord? {
        try await sqlRead { connection in
            try DeviceRow.fetchOne(connection, #"WHERE "id" = ?"#, [.text(id)])?.record(json: JSONColumn())
        }
    }

    /// The device enrolled with this public key, or nil.
    public func device(publicKey: [UInt8]) async throws -> DeviceRecord? {
        try await sqlRead { connection in
            try DeviceRow.fetchOne(connection, #"WHERE "publicKey" = ?"#, [.bytes(publicKey)])?.record(
                json: JSONColumn()
            )
        }
    }

    /// All devices, ordered by name, then id.
    public func devices() async throws -> [DeviceRecord] {
        try await sqlRead { connection in
            let json = JSONColumn()
            return try DeviceRow.fetchAll(connection, #"ORDER BY "name", "id""#, []).map { try $0.record(json: json) }
        }
    }

    public func deviceCount() async throws -> Int {
        try await sqlRead { connection in
            Int(try connection.queryInt(#"SELECT COUNT(*) FROM "device""#, []) ?? 0)
        }
    }

    /// One transaction for the whole batch: sets lastSeen (and, when the update carries it, reported
    /// state: agent version, capabilities, installed models).
    ///
    /// lastSeen never moves backwards: an older date than the stored one leaves it as is. Updates for
    /// unknown device ids are ignored. Later updates in the batch win over earlier ones for the same device.
    public func recordHeartbeats(_ updates: [HeartbeatUpdate]) async throws {
        guard !updates.isEmpty else { return }
        try await sqlWrite { connection in
            let json = JSONColumn()
            // Both arguments of `greatest` are non-NULL: the dialects agree.
            let lastSeen = #""lastSeen" = "# + connection.dialect.greatest(#"COALESCE("lastSeen", ?)"#, "?")
            let seen = #"UPDATE "device" SET \#(lastSeen) WHERE "id" = ?"#
            let seenAndReported = #"""
                UPDATE "device" SET \#(lastSeen), "agentVersion" = ?, "capabilities" = ?, "installedModels" = ?
                WHERE "id" = ?
                """#
            for update in updates {
                let at = SQLValue.integer(StoredDate.milliseconds(update.lastSeen))
                if let reported = update.reported {
                    try connection.execute(
                        seenAndReported,
                        [
                            at, at, .text(reported.agentVersion), .text(try json.encode(reported.capabilities)),
                            .text(try json.encode(reported.installedModels.map(StoredInstalledModel.init))),
                            .text(update.deviceID),
                        ]
                    )
                } else {
                    try connection.execute(seen, [at, at, .text(update.deviceID)])
                }
            }
        }
    }

    /// Sets status; if it changed, appends an event ("online"/"offline", with `detail` or "") in the same
    /// transaction. Returns whether it changed. Throws `notFound` for an unknown device.
    @discardableResult
    public func setStatus(deviceID: String, status: DeviceStatus, at: Date, detail: String?) async throws -> Bool {
        try await sqlWrite { connection in
            let current = try connection.queryOne(#"SELECT "status" FROM "device" WHERE "id" = ?"#, [.text(deviceID)])
            guard let current else {
                throw StoreError.notFound.with("no device \(deviceID)")
            }
            guard try current.string("status") != status.rawValue else { return false }
            try connection.execute(
                #"UPDATE "device" SET "status" = ? WHERE "id" = ?"#,
                [.text(status.rawValue), .text(deviceID)]
            )
            _ = try EventRow.append(
                NewEvent(at: at, deviceID: deviceID, kind: status.rawValue, detail: detail ?? ""),
                in: connection
            )
            return true
        }
    }
}
