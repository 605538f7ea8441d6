import Foundation

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
        return try await sqlWrite { connection in
            let json = JSONColumn()
            let label = "\(variant.model) v\(variant.version) \(variant.variant)"
            if try ModelVariantRow.find(
                model: variant.model,
                version: variant.version,
                variant: variant.variant,
                in: connection
            ) != nil {
                throw StoreError.duplicate.with("model \(label) already exists")
            }
            if let highest = try Self.latestVersion(of: variant.model, in: connection), variant.version < highest {
                throw StoreError.versionNotIncreasing.with(
                    "model \(label): version \(variant.version) is below the highest version \(highest)"
                )
            }
            do {
                try ModelVariantRow.insert(variant, json: json, in: connection)
            } catch let error as StoreError where error == .duplicate {
                throw StoreError.duplicate.with("model \(label) already exists: \(error)")
            }
            _ = try EventRow.append(
                NewEvent(
                    at: variant.createdAt,
                    deviceID: nil,
                    kind: "model_pushed",
                    detail: "\(label), \(variant.size) bytes"
                ),
                in: connection
            )
            if let referenceStatistics {
                try Self.storeReferenceStatistics(
                    model: variant.model,
                    version: variant.version,
                    statistics: referenceStatistics,
                    at: variant.createdAt,
                    in: connection
                )
            }
            guard
                let stored = try ModelVariantRow.find(
                    model: variant.model,
                    version: variant.version,
                    variant: variant.variant,
                    in: connection
                )
            else { throw StoreError.corrupt.with("model \(label) not found after its insert") }
            return try stored.record(json: json)
        }
    }

    /// Every model with at least one stored variant, by name.
    public func models() async throws -> [ModelSummary] {
        try await sqlRead { connection in
            var deviceCounts: [String: Int] = [:]
            for row in try connection.query(
                #"SELECT "model", COUNT(*) AS "devices" FROM "modelAssignment" GROUP BY "model""#,
                []
            ) {
                deviceCounts[try row.string("model")] = try row.int("devices")
            }
            let keys = try connection.query(
                #"SELECT "model", "version", "variant" FROM "modelVariant" ORDER BY "model", "version", "variant""#,
                []
            )
            var summaries: [ModelSummary] = []
            for key in keys {
                let (name, version, variant) = (
                    try key.string("model"), try key.int("version"), try key.string("variant")
                )
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
        try await sqlRead { connection in
            let json = JSONColumn()
            return try ModelVariantRow.ofModel(model, in: connection).map { try $0.record(json: json) }
        }
    }

    public func modelVariant(model: String, version: Int, variant: String) async throws -> ModelVariantRecord? {
        try await sqlRead { connection in
            try ModelVariantRow.find(model: model, version: version, variant: variant, in: connection)?
                .record(json: JSONColumn())
        }
    }

    /// A variant whose weights file has this SHA-256, or nil. When several share the blob, the first by
    /// model name, then newest version, then variant name.
    public func modelVariant(sha256: [UInt8]) async throws -> ModelVariantRecord? {
        try await sqlRead { connection in
            try ModelVariantRow.fetchOne(
                connection,
                #"WHERE "sha256" = ? ORDER BY "model", "version" DESC, "variant" LIMIT 1"#,
                [.bytes(sha256)]
            )?.record(json: JSONColumn())
        }
    }

    /// The model's highest stored version, or nil for an unknown model.
    public func latestVersion(model: String) async throws -> Int? {
        try await sqlRead { connection in try Self.latestVersion(of: model, in: connection) }
    }

    static func latestVersion(of model: String, in connection: any SQLConnection) throws -> Int? {
        try connection.queryInt(#"SELECT MAX("version") FROM "modelVariant" WHERE "model" = ?"#, [.text(model)])
            .map { Int($0) }
    }
}
