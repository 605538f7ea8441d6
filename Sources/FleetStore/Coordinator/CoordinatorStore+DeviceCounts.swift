import Foundation

/// The fleet counted in the database (the console's fleet and model pages): a few grouped queries, whatever the
/// fleet's size, instead of decoding every device.
public struct DeviceCounts: Sendable, Equatable {
    /// Devices by stored status.
    public var byStatus: [DeviceStatus: Int]
    /// Devices by the value of the label asked for; devices without that label under nil.
    public var byLabel: [String?: Int]
    /// Devices by the model version and variant they report running (a device counts once per model it runs).
    public var byInstalledModel: [InstalledModelKey: Int]

    public var total: Int { byStatus.values.reduce(0, +) }
}

/// A model version and variant a device runs.
public struct InstalledModelKey: Sendable, Hashable {
    public var name: String
    public var version: Int
    public var variant: String

    public init(name: String, version: Int, variant: String) {
        self.name = name
        self.version = version
        self.variant = variant
    }
}

extension CoordinatorStore {
    /// The devices counted by status, by the value of `label` and by what they run, in one read transaction.
    public func deviceCounts(label: String) async throws -> DeviceCounts {
        try await sqlRead { connection in
            var counts = DeviceCounts(byStatus: [.online: 0, .offline: 0], byLabel: [:], byInstalledModel: [:])
            let statuses = try connection.query(
                #"SELECT "status", COUNT(*) AS "count" FROM "device" GROUP BY "status""#,
                []
            )
            for row in statuses {
                let status = try row.string("status")
                guard let decoded = DeviceStatus(rawValue: status) else {
                    throw StoreError.corrupt.with("a device has unknown status \(status)")
                }
                counts.byStatus[decoded] = try row.int("count")
            }
            let field = connection.dialect.jsonTextField("labels", key: label)
            let labels = try connection.query(
                #"SELECT \#(field.sql) AS "value", COUNT(*) AS "count" FROM "device" GROUP BY 1"#,
                [field.argument]
            )
            for row in labels { counts.byLabel[try row.optionalString("value"), default: 0] += try row.int("count") }
            counts.byInstalledModel = try Self.installedModelCounts(connection)
            return counts
        }
    }

    /// Devices by the model version and variant they report running.
    public func installedModelCounts() async throws -> [InstalledModelKey: Int] {
        try await sqlRead { connection in try Self.installedModelCounts(connection) }
    }

    /// Grouped by the stored list, so only the distinct lists are decoded (a fleet runs a few combinations of
    /// versions, however many devices it has).
    private static func installedModelCounts(_ connection: any SQLConnection) throws -> [InstalledModelKey: Int] {
        let json = JSONColumn()
        var counts: [InstalledModelKey: Int] = [:]
        let lists = try connection.query(
            #"SELECT "installedModels", COUNT(*) AS "count" FROM "device" GROUP BY "installedModels""#,
            []
        )
        for row in lists {
            let devices = try row.int("count")
            let models = try json.decode(
                [StoredInstalledModel].self,
                from: try row.string("installedModels"),
                column: "device.installedModels"
            )
            for model in models {
                let key = InstalledModelKey(name: model.name, version: model.version, variant: model.variant)
                counts[key, default: 0] += devices
            }
        }
        return counts
    }

    /// The devices with these ids that exist, ordered by name, then id (in queries of at most 500 ids each).
    public func devices(ids: [String]) async throws -> [DeviceRecord] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [] }
        return try await sqlRead { connection in
            let json = JSONColumn()
            var records: [DeviceRecord] = []
            for chunk in sqlInListChunks(unique) {
                records += try DeviceRow.fetchAll(
                    connection,
                    #"WHERE "id" IN (\#(chunk.placeholders))"#,
                    chunk.values.map { .text($0) }
                ).map { try $0.record(json: json) }
            }
            return records.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
    }

    /// A page of the devices ordered by name, then id: at most `limit` after the device `afterID` (from the
    /// start without one). Nil when `afterID` names no device.
    public func devices(after afterID: String?, limit: Int) async throws -> [DeviceRecord]? {
        guard limit > 0 else { return [] }
        return try await sqlRead { connection in
            let json = JSONColumn()
            guard let afterID else {
                return try DeviceRow.fetchAll(connection, #"ORDER BY "name", "id" LIMIT ?"#, [.integer(Int64(limit))])
                    .map { try $0.record(json: json) }
            }
            guard let cursor = try connection.queryOne(#"SELECT "name" FROM "device" WHERE "id" = ?"#, [.text(afterID)])
            else { return nil }
            let name = try cursor.string("name")
            return try DeviceRow.fetchAll(
                connection,
                #"WHERE "name" > ? OR ("name" = ? AND "id" > ?) ORDER BY "name", "id" LIMIT ?"#,
                [.text(name), .text(name), .text(afterID), .integer(Int64(limit))]
            ).map { try $0.record(json: json) }
        }
    }
}
