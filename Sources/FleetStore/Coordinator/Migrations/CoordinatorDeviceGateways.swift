import GRDB

/// "coordinator-device-gateways": the gateway (an enrolled device running `fleet-agent --leaf-listen`) that
/// carried each leaf's last welcomed connection, as the gateway proved it (SPEC "Gateways and leaves").
/// Frozen once shipped: never edit it, add a later migration instead. Plain SQL, no application types.
enum CoordinatorDeviceGateways {
    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE "deviceGateway" (
                    "deviceID" TEXT NOT NULL PRIMARY KEY REFERENCES "device"("id") ON DELETE CASCADE,
                    "gatewayID" TEXT NOT NULL
                ) WITHOUT ROWID;
                """
        )
    }
}
