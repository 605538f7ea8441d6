import Foundation
import GRDB

/// A model version and variant's deliveries added up in the database (the console's model page).
public struct TransferTotals: Sendable, Equatable {
    public var version: Int
    public var variant: String
    public var transfers: Int
    public var deltaTransfers: Int
    /// Bytes sent on the wire.
    public var wireBytes: Int
    /// What full transfers of the same installs would have cost: each transfer's full size, or its wire bytes when
    /// those were more.
    public var fullBytes: Int
}

extension CoordinatorStore {
    /// The model's deliveries per version and variant, summed in one grouped query (never the whole log).
    public func transferTotals(model: String) async throws -> [TransferTotals] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: #"""
                    SELECT "version", "variant", COUNT(*) AS "transfers",
                        SUM(CASE WHEN "encoding" = 'delta' THEN 1 ELSE 0 END) AS "deltaTransfers",
                        SUM("wireBytes") AS "wireBytes",
                        SUM(MAX("fullBytes", "wireBytes")) AS "fullBytes"
                    FROM "modelTransfer" WHERE "model" = ? GROUP BY "version", "variant"
                    ORDER BY "version" DESC, "variant"
                    """#,
                arguments: [model]
            ).map { row in
                TransferTotals(
                    version: row["version"],
                    variant: row["variant"],
                    transfers: row["transfers"],
                    deltaTransfers: row["deltaTransfers"],
                    wireBytes: row["wireBytes"],
                    fullBytes: row["fullBytes"]
                )
            }
        }
    }
}
