import Foundation

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
        try await sqlRead { connection in
            let dialect = connection.dialect
            let larger = dialect.greatest(#""fullBytes""#, #""wireBytes""#)
            return try connection.query(
                #"""
                SELECT "version", "variant", COUNT(*) AS "transfers",
                    \#(dialect.integerSum(#"CASE WHEN "encoding" = 'delta' THEN 1 ELSE 0 END"#)) AS "deltaTransfers",
                    \#(dialect.integerSum(#""wireBytes""#)) AS "wireBytes",
                    \#(dialect.integerSum(larger)) AS "fullBytes"
                FROM "modelTransfer" WHERE "model" = ? GROUP BY "version", "variant"
                ORDER BY "version" DESC, "variant"
                """#,
                [.text(model)]
            ).map { row in
                TransferTotals(
                    version: try row.int("version"),
                    variant: try row.string("variant"),
                    transfers: try row.int("transfers"),
                    deltaTransfers: try row.int("deltaTransfers"),
                    wireBytes: try row.int("wireBytes"),
                    fullBytes: try row.int("fullBytes")
                )
            }
        }
    }
}
