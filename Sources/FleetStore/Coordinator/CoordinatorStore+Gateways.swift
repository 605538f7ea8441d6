import GRDB

extension CoordinatorStore {
    /// Records that `gatewayID` carried the device's welcomed connection, or (nil) that it connected directly.
    /// Writes only when this changes what is stored.
    public func setGateway(deviceID: String, gatewayID: String?) async throws {
        try await write { db in
            let stored = try String.fetchOne(
                db,
                sql: #"SELECT "gatewayID" FROM "deviceGateway" WHERE "deviceID" = ?"#,
                arguments: [deviceID]
            )
            guard stored != gatewayID else { return }
            if let gatewayID {
                try db.execute(
                    sql: #"INSERT OR REPLACE INTO "deviceGateway" ("deviceID", "gatewayID") VALUES (?, ?)"#,
                    arguments: [deviceID, gatewayID]
                )
            } else {
                try db.execute(sql: #"DELETE FROM "deviceGateway" WHERE "deviceID" = ?"#, arguments: [deviceID])
            }
        }
    }

    /// Every device carried by a gateway, with that gateway's id, ordered by device id.
    public func deviceGateways() async throws -> [(deviceID: String, gatewayID: String)] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"""
                    SELECT "deviceGateway"."deviceID", "gatewayID" FROM "deviceGateway"
                    JOIN "device" ON "device"."id" = "deviceGateway"."deviceID"
                    ORDER BY "deviceGateway"."deviceID"
                    """#
            ).map { (deviceID: $0[0], gatewayID: $0[1]) }
        }
    }
}
