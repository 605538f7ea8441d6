extension CoordinatorStore {
    /// Records that `gatewayID` carried the device's welcomed connection, or (nil) that it connected directly.
    /// Writes only when this changes what is stored.
    public func setGateway(deviceID: String, gatewayID: String?) async throws {
        try await sqlWrite { connection in
            let stored = try connection.queryOne(
                #"SELECT "gatewayID" FROM "deviceGateway" WHERE "deviceID" = ?"#,
                [.text(deviceID)]
            ).map { try $0.string("gatewayID") }
            guard stored != gatewayID else { return }
            if let gatewayID {
                try connection.execute(
                    connection.dialect.upsert(
                        into: "deviceGateway",
                        columns: ["deviceID", "gatewayID"],
                        key: ["deviceID"]
                    ),
                    [.text(deviceID), .text(gatewayID)]
                )
            } else {
                try connection.execute(#"DELETE FROM "deviceGateway" WHERE "deviceID" = ?"#, [.text(deviceID)])
            }
        }
    }

    /// Every device carried by a gateway, with that gateway's id, ordered by device id.
    public func deviceGateways() async throws -> [(deviceID: String, gatewayID: String)] {
        try await sqlRead { connection in
            try connection.query(
                #"""
                SELECT "deviceGateway"."deviceID" AS "deviceID", "gatewayID" FROM "deviceGateway"
                JOIN "device" ON "device"."id" = "deviceGateway"."deviceID"
                ORDER BY "deviceGateway"."deviceID"
                """#,
                []
            ).map { (deviceID: try $0.string("deviceID"), gatewayID: try $0.string("gatewayID")) }
        }
    }
}
