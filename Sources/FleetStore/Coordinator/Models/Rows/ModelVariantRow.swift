import Foundation
import GRDB

/// The `modelVariant` table. Raw columns stay private; typed values come from ``record(json:)``.
struct ModelVariantRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "modelVariant"

    enum Columns {
        static let model = Column("model")
        static let version = Column("version")
        static let variant = Column("variant")
        static let sha256 = Column("sha256")
    }

    private(set) var model: String
    private(set) var version: Int
    private(set) var variant: String
    private var size: Int
    private var sha256: Data
    private var blobPath: String
    private var requirements: String
    private var metadata: String
    private var signedManifest: Data
    private var createdAt: Int64

    init(_ new: NewModelVariant, json: JSONColumn) throws {
        model = new.model
        version = new.version
        variant = new.variant
        size = new.size
        sha256 = Data(new.sha256)
        blobPath = new.blobPath
        requirements = try json.encode(new.requirements)
        metadata = try json.encode(new.metadata)
        signedManifest = Data(new.signedManifest)
        createdAt = StoredDate.milliseconds(new.createdAt)
    }

    func record(json: JSONColumn) throws -> ModelVariantRecord {
        ModelVariantRecord(
            model: model,
            version: version,
            variant: variant,
            size: size,
            sha256: [UInt8](sha256),
            blobPath: blobPath,
            requirements: try json.decode(
                [String: String].self,
                from: requirements,
                column: "modelVariant.requirements"
            ),
            metadata: try json.decode([String: String].self, from: metadata, column: "modelVariant.metadata"),
            signedManifest: [UInt8](signedManifest),
            createdAt: StoredDate.date(createdAt)
        )
    }

    /// Every variant of `model`, version descending then variant ascending.
    static func ofModel(_ model: String) -> QueryInterfaceRequest<ModelVariantRow> {
        filter(Columns.model == model).order(Columns.version.desc, Columns.variant)
    }

    static func find(model: String, version: Int, variant: String, in db: Database) throws -> ModelVariantRow? {
        try filter(Columns.model == model && Columns.version == version && Columns.variant == variant).fetchOne(db)
    }
}
