import Foundation

/// What the coordinator's `GET /metrics` reads from the database at each scrape: two aggregate queries, whatever
/// the fleet's size, so a scrape never loads the device table into memory.
public struct FleetGauges: Sendable, Equatable {
    /// Devices by stored status (`online`, `offline`), as `fleetctl devices` shows them.
    public var devicesByStatus: [DeviceStatus: Int]
    /// The test accuracy (0–1) of each model's latest round that was evaluated.
    public var latestRoundAccuracy: [String: Double]
}

extension CoordinatorStore {
    public func fleetGauges() async throws -> FleetGauges {
        try await sqlRead { connection in
            var devices: [DeviceStatus: Int] = [.online: 0, .offline: 0]
            let statusRows = try connection.query(
                #"SELECT "status", COUNT(*) AS "count" FROM "device" GROUP BY "status""#,
                []
            )
            for row in statusRows {
                if let status = DeviceStatus(rawValue: try row.string("status")) {
                    devices[status] = try row.int("count")
                }
            }
            var accuracy: [String: Double] = [:]
            let roundRows = try connection.query(
                #"""
                SELECT "model", "testAccuracy" FROM "round" WHERE "id" IN (
                    SELECT MAX("id") FROM "round" WHERE "testAccuracy" IS NOT NULL GROUP BY "model")
                """#,
                []
            )
            for row in roundRows { accuracy[try row.string("model")] = try row.double("testAccuracy") }
            return FleetGauges(devicesByStatus: devices, latestRoundAccuracy: accuracy)
        }
    }
}
