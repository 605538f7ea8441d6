import Foundation
import GRDB

extension CoordinatorStore {
    /// Adds one variant of a version to the registry, and appends a fleet-wide "model_pushed" event
    /// ("NAME vV VARIANT, N bytes", dated `createdAt`) in the same transaction.
    ///
    /// A model's versions only go up: another variant of the model's highest version is fine, a version
    /// below it throws `versionNotIncreasing`. The same (model, version, variant) again throws `duplicate`
    /// (checked first). Throws `invalidArgument` for empty names or blob path, a negative version or size,
    /// or a digest that is not 32 bytes. With `referenceStatistics`, the version's reference package is stored
    /// in the same transaction: both or neither.
    @discardableResult
    public func addModelVariant(
        _ variant: NewModelVariant,
        referenceStatistics: [UInt8]? = nil
    ) async throws -> ModelVariantRecord {
        try ModelValidation.variant(variant)
        return try await write { db in
            let json = JSONColumn()
            let label = "\(variant.model) v\(variant.version) \(variant.variant)"
            if try ModelVariantRow.find(
                model: variant.model,
                version: variant.version,
                variant: variant.variant,
                in: db
            ) != nil {
                throw StoreError.duplicate.with("model \(label) already exists")
            }
            if let highest = try Self.latestVersion(of: variant.model, in: db), variant.version < highest {
                throw StoreError.versionNotIncreasing.with(
                    "model \(label): version \(variant.version) is below the highest version \(highest)"
                )
            }
            let row = try ModelVariantRow(variant, json: json)
            do {
                try row.insert(db)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.duplicate.with("model \(label) already exists: \(error)")
            }
            _ = try EventRow.append(
                NewEvent(
                    at: variant.createdAt,
                    deviceID: nil,
                    kind: "model_pushed",
                    detail: "\(label), \(variant.size) bytes"
                ),
                in: db
            )
            if let referenceStatistics {
                try Self.storeReferenceStatistics(
                    model: variant.model,
                    version: variant.version,
                    statistics: referenceStatistics,
                    at: variant.createdAt,
                    in: db
                )
            }
            return try row.record(json: json)
        }
    }

    /// Every model with at least one stored variant, by name.
    public func models() async throws -> [ModelSummary] {
        try await read { db in
            let deviceCounts = try Dictionary(
                uniqueKeysWithValues: Row.fetchAll(
                    db,
                    sql: #"SELECT "model", COUNT(*) FROM "modelAssignment" GROUP BY "model""#
                ).map { row -> (String, Int) in (row[0], row[1]) }
            )
            let keys = try Row.fetchAll(
                db,
                sql: #"SELECT "model", "version", "variant" FROM "modelVariant" ORDER BY "model", "version", "variant""#
            )
            var summaries: [ModelSummary] = []
            for key in keys {
                let (name, version, variant): (String, Int, String) = (key[0], key[1], key[2])
                if summaries.last?.name != name {
                    summaries.append(
                        ModelSummary(
                            name: name,
                            latestVersion: version,
                            versions: [],
                            variants: [],
                            deviceCount: deviceCounts[name] ?? 0
                        )
                    )
                }
                let index = summaries.count - 1
                summaries[index].latestVersion = version
                if summaries[index].versions.last != version {
                    summaries[index].versions.append(version)
                }
                summaries[index].variants.append(variant)
            }
            for index in summaries.indices {
                summaries[index].variants = Set(summaries[index].variants).sorted()
            }
            return summaries
        }
    }

    /// Every variant of `model`, version descending, then variant ascending.
    public func modelVariants(model: String) async throws -> [ModelVariantRecord] {
        try await read { db in
            let json = JSONColumn()
            return try ModelVariantRow.ofModel(model).fetchAll(db).map { try $0.record(json: json) }
        }
    }

    public func modelVariant(model: String, version: Int, variant: String) async throws -> ModelVariantRecord? {
        try await read { db in
            try ModelVariantRow.find(model: model, version: version, variant: variant, in: db)?
                .record(json: JSONColumn())
        }
    }

    /// A variant whose weights file has this SHA-256, or nil. When several share the blob, the first by
    /// model name, then newest version, then variant name.
    public func modelVariant(sha256: [UInt8]) async throws -> ModelVariantRecord? {
        try await read { db in
            try ModelVariantRow.filter(ModelVariantRow.Columns.sha256 == Data(sha256))
                .order(
                    ModelVariantRow.Columns.model,
                    ModelVariantRow.Columns.version.desc,
                    ModelVariantRow.Columns.variant
                )
                .fetchOne(db)?
                .record(json: JSONColumn())
        }
    }

    /// The model's highest stored version, or nil for an unknown model.
    public func latestVersion(model: String) async throws -> Int? {
        try await read { db in try Self.latestVersion(of: model, in: db) }
    }

    static func latestVersion(of model: String, in db: Database) throws -> Int? {
        try Int.fetchOne(db, sql: #"SELECT MAX("version") FROM "modelVariant" WHERE "model" = ?"#, arguments: [model])
    }
}
