import Foundation

extension CoordinatorStore {
    /// Stores a new enrolment token. Throws `duplicate` if its id or secret hash already exists,
    /// `invalidArgument` if `uses` is below 1.
    public func createToken(_ token: NewEnrolmentToken) async throws -> EnrolmentTokenRecord {
        guard token.uses >= 1 else {
            throw StoreError.invalidArgument.with("an enrolment token needs at least one use, got \(token.uses)")
        }
        return try await sqlWrite { connection in
            let json = JSONColumn()
            let row = try TokenRow(token, json: json)
            do {
                try row.insert(into: connection)
            } catch let error as StoreError where error == .duplicate {
                throw StoreError.duplicate.with("enrolment token \(token.id) or its secret already exists")
            }
            return try row.record(json: json)
        }
    }

    /// Revokes a token: no uses left from now on (devices already enrolled with it keep working), and a
    /// `token_revoked` event. Returns false when no token has this id.
    public func revokeToken(id: String, at now: Date) async throws -> Bool {
        try await sqlWrite { connection in
            let changed = try connection.execute(
                #"UPDATE "enrolmentToken" SET "usesLeft" = 0 WHERE "id" = ?"#,
                [.text(id)]
            )
            guard changed > 0 else { return false }
            _ = try EventRow.append(NewEvent(at: now, deviceID: nil, kind: "token_revoked", detail: id), in: connection)
            return true
        }
    }

    /// All enrolment tokens, oldest first.
    public func tokens() async throws -> [EnrolmentTokenRecord] {
        try await sqlRead { connection in
            let json = JSONColumn()
            return try TokenRow.fetchAll(connection, #"ORDER BY "createdAt", "id""#, []).map {
                try $0.record(json: json)
            }
        }
    }

    /// Atomically: find the token by hash, check expiry (now) and uses left, decrement uses, insert the
    /// device, append an "enrolled" event. Throws tokenUnknown / tokenExhausted / tokenExpired /
    /// deviceKeyInUse (and `duplicate` for a device id already taken); on any error nothing changes.
    /// The device gets its own requested labels merged under the token's: a label the token sets, and the
    /// protected labels (`DeviceLabels.protectedKeys`, e.g. `region`), come from the token (the administrator)
    /// only, never from the device's own request; ignored requests are named in the "enrolled" event.
    public func enrol(device: NewDevice, tokenHash: [UInt8], now: Date) async throws -> DeviceRecord {
        try await sqlWrite { connection in
            let json = JSONColumn()
            let token = try TokenRow.fetchAll(connection, #"WHERE "secretHash" = ?"#, [.bytes(tokenHash)]).first
            guard let token else {
                throw StoreError.tokenUnknown
            }
            guard !token.isExpired(at: now) else {
                throw StoreError.tokenExpired.with("enrolment token \(token.id) has expired")
            }
            guard token.usesLeft > 0 else {
                throw StoreError.tokenExhausted.with("enrolment token \(token.id) has no uses left")
            }
            if try connection.queryOne(#"SELECT 1 FROM "device" WHERE "publicKey" = ?"#, [.bytes(device.publicKey)])
                != nil
            {
                throw StoreError.deviceKeyInUse
            }
            if try Self.isRemoved(publicKey: device.publicKey, in: connection) {
                throw StoreError.deviceKeyInUse.with("this key belonged to a device the administrator removed")
            }
            if try connection.queryOne(#"SELECT 1 FROM "device" WHERE "id" = ?"#, [.text(device.id)]) != nil {
                throw StoreError.duplicate.with("device id \(device.id) is already enrolled")
            }
            try connection.execute(
                #"UPDATE "enrolmentToken" SET "usesLeft" = "usesLeft" - 1 WHERE "id" = ?"#,
                [.text(token.id)]
            )
            let (labels, ignored) = DeviceLabels.merge(
                token: try token.decodedLabels(json: json),
                device: device.labels
            )
            let row = try DeviceRow(device, labels: labels, tokenID: token.id, json: json)
            try row.insert(into: connection)
            let ignoredNote =
                ignored.isEmpty
                ? ""
                : "; ignored the device's own "
                    + ignored.sorted().map { "\($0)=\(device.labels[$0] ?? "")" }
                    .joined(separator: ", ") + " (set by the enrolment token only)"
            _ = try EventRow.append(
                NewEvent(at: now, deviceID: device.id, kind: "enrolled", detail: "token \(token.id)" + ignoredNote),
                in: connection
            )
            return try row.record(json: json)
        }
    }
}
