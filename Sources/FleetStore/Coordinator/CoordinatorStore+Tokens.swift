import Foundation
import GRDB

extension CoordinatorStore {
    /// Stores a new enrolment token. Throws `duplicate` if its id or secret hash already exists,
    /// `invalidArgument` if `uses` is below 1.
    public func createToken(_ token: NewEnrolmentToken) async throws -> EnrolmentTokenRecord {
        guard token.uses >= 1 else {
            throw StoreError.invalidArgument.with("an enrolment token needs at least one use, got \(token.uses)")
        }
        return try await write { db in
            let json = JSONColumn()
            let row = try TokenRow(token, json: json)
            do {
                try row.insert(db)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.duplicate.with("enrolment token \(token.id) or its secret already exists")
            }
            return try row.record(json: json)
        }
    }

    /// Revokes a token: no uses left from now on (devices already enrolled with it keep working), and a
    /// `token_revoked` event. Returns false when no token has this id.
    public func revokeToken(id: String, at now: Date) async throws -> Bool {
        try await write { db in
            guard try TokenRow.filter(TokenRow.Columns.id == id).fetchCount(db) > 0 else { return false }
            try db.execute(sql: #"UPDATE "enrolmentToken" SET "usesLeft" = 0 WHERE "id" = ?"#, arguments: [id])
            _ = try EventRow.append(NewEvent(at: now, deviceID: nil, kind: "token_revoked", detail: id), in: db)
            return true
        }
    }

    /// All enrolment tokens, oldest first.
    public func tokens() async throws -> [EnrolmentTokenRecord] {
        try await read { db in
            let json = JSONColumn()
            return try TokenRow.order(TokenRow.Columns.createdAt, TokenRow.Columns.id)
                .fetchAll(db)
                .map { try $0.record(json: json) }
        }
    }

    /// Atomically: find the token by hash, check expiry (now) and uses left, decrement uses, insert the
    /// device, append an "enrolled" event. Throws tokenUnknown / tokenExhausted / tokenExpired /
    /// deviceKeyInUse (and `duplicate` for a device id already taken); on any error nothing changes.
    /// The device gets its own requested labels merged under the token's: a label the token sets, and the
    /// protected labels (`DeviceLabels.protectedKeys`, e.g. `region`), come from the token (the administrator)
    /// only, never from the device's own request; ignored requests are named in the "enrolled" event.
    public func enrol(device: NewDevice, tokenHash: [UInt8], now: Date) async throws -> DeviceRecord {
        try await write { db in
            let json = JSONColumn()
            guard let token = try TokenRow.filter(TokenRow.Columns.secretHash == Data(tokenHash)).fetchOne(db) else {
                throw StoreError.tokenUnknown
            }
            guard !token.isExpired(at: now) else {
                throw StoreError.tokenExpired.with("enrolment token \(token.id) has expired")
            }
            guard token.usesLeft > 0 else {
                throw StoreError.tokenExhausted.with("enrolment token \(token.id) has no uses left")
            }
            if try DeviceRow.filter(DeviceRow.Columns.publicKey == Data(device.publicKey)).fetchCount(db) > 0 {
                throw StoreError.deviceKeyInUse
            }
            if try Self.isRemoved(publicKey: device.publicKey, in: db) {
                throw StoreError.deviceKeyInUse.with("this key belonged to a device the administrator removed")
            }
            if try DeviceRow.filter(DeviceRow.Columns.id == device.id).fetchCount(db) > 0 {
                throw StoreError.duplicate.with("device id \(device.id) is already enrolled")
            }
            try db.execute(
                sql: #"UPDATE "enrolmentToken" SET "usesLeft" = "usesLeft" - 1 WHERE "id" = ?"#,
                arguments: [token.id]
            )
            let (labels, ignored) = DeviceLabels.merge(
                token: try token.decodedLabels(json: json),
                device: device.labels
            )
            let row = try DeviceRow(device, labels: labels, tokenID: token.id, json: json)
            try row.insert(db)
            let ignoredNote =
                ignored.isEmpty
                ? ""
                : "; ignored the device's own "
                    + ignored.sorted().map { "\($0)=\(device.labels[$0] ?? "")" }
                    .joined(separator: ", ") + " (set by the enrolment token only)"
            _ = try EventRow.append(
                NewEvent(at: now, deviceID: device.id, kind: "enrolled", detail: "token \(token.id)" + ignoredNote),
                in: db
            )
            return try row.record(json: json)
        }
    }
}
