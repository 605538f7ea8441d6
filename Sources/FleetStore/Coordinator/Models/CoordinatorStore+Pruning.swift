import Foundation

extension CoordinatorStore {
    /// Removes every version of `model` except the newest `keep` and those still assigned to a device or
    /// reported installed by one (a version is kept or removed with all its variants). Returns the removed
    /// records, version descending then variant ascending; the caller deletes the blobs that no remaining
    /// variant references (see ``modelVariant(sha256:)``). When something was removed, appends a
    /// fleet-wide "model_pruned" event, dated `at`, in the same transaction.
    ///
    /// `keep` must be at least 1 (`invalidArgument` otherwise), so the highest version always stays and
    /// versions keep going up.
    public func pruneModelVersions(model: String, keep: Int, at: Date = Date()) async throws -> [ModelVariantRecord] {
        try await pruneModelVersions(model: model, keep: keep, at: at, devicePageSize: Self.pruningDevicePageSize)
    }

    /// How many devices' installed models pruning reads at a time.
    static let pruningDevicePageSize = 1_000

    /// ``pruneModelVersions(model:keep:at:)`` reading devices' installed models `devicePageSize` devices at a time.
    func pruneModelVersions(
        model: String,
        keep: Int,
        at: Date,
        devicePageSize: Int
    ) async throws -> [ModelVariantRecord] {
        guard devicePageSize >= 1 else {
            throw StoreError.invalidArgument.with("pruning reads at least one device at a time, got \(devicePageSize)")
        }
        guard keep >= 1 else {
            throw StoreError.invalidArgument.with("pruning must keep at least one version, got \(keep)")
        }
        return try await sqlWrite { connection in
            let versions = try connection.query(
                #"SELECT DISTINCT "version" FROM "modelVariant" WHERE "model" = ? ORDER BY "version" DESC"#,
                [.text(model)]
            ).map { try $0.int("version") }
            guard versions.count > keep else { return [] }
            let inUse = try Self.versionsInUse(of: model, devicePageSize: devicePageSize, in: connection)
            let doomed = versions.dropFirst(keep).filter { !inUse.contains($0) }
            guard !doomed.isEmpty else { return [] }

            let json = JSONColumn()
            let placeholders = sqlPlaceholders(doomed.count)
            let removed = try ModelVariantRow.ofModel(
                model,
                and: #"AND "version" IN ("# + placeholders + ")",
                doomed.map { SQLValue($0) },
                in: connection
            ).map { try $0.record(json: json) }
            try connection.execute(
                #"DELETE FROM "modelVariant" WHERE "model" = ? AND "version" IN ("# + placeholders + ")",
                [.text(model)] + doomed.map { SQLValue($0) }
            )
            let list = doomed.map { "v\($0)" }.joined(separator: ", ")
            _ = try EventRow.append(
                NewEvent(
                    at: at,
                    deviceID: nil,
                    kind: "model_pruned",
                    detail: "\(model) \(list) (\(removed.count) variant(s))"
                ),
                in: connection
            )
            return removed
        }
    }

    /// Versions of `model` that some device is assigned or reports as installed. Devices' installed models are read
    /// `devicePageSize` devices at a time, in id order (keyset pagination), never the whole fleet at once.
    private static func versionsInUse(
        of model: String,
        devicePageSize: Int,
        in connection: any SQLConnection
    ) throws -> Set<Int> {
        var versions = Set(
            try connection.query(
                #"SELECT DISTINCT "version" FROM "modelAssignment" WHERE "model" = ? AND "version" IS NOT NULL"#,
                [.text(model)]
            ).map { try $0.int("version") }
        )
        let json = JSONColumn()
        var after = ""
        while true {
            let page = try connection.query(
                #"""
                SELECT "id", "installedModels" FROM "device" WHERE "installedModels" <> '[]' AND "id" > ?
                ORDER BY "id" LIMIT ?
                """#,
                [.text(after), SQLValue(devicePageSize)]
            )
            for row in page {
                let text = try row.string("installedModels")
                for installed in try json.decode(
                    [StoredInstalledModel].self,
                    from: text,
                    column: "device.installedModels"
                ) where installed.name == model {
                    versions.insert(installed.version)
                }
            }
            guard page.count == devicePageSize, let last = page.last else { return versions }
            after = try last.string("id")
        }
    }
}
