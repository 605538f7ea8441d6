/// A device's failed or refused install of one version and variant of a model, from the event log.
public struct InstallFailure: Sendable, Equatable {
    public var deviceID: String
    public var version: Int
    public var variant: String
    public var kind: String
}

extension CoordinatorStore {
    /// Every `install_failed` and `install_refused` event of `model` (their detail starts with
    /// "MODEL vVERSION VARIANT: "), oldest first, as version and variant.
    public func installFailures(model: String) async throws -> [InstallFailure] {
        let prefix = "\(model) v"
        return try await sqlRead { connection in
            let rows = try connection.query(
                """
                SELECT "deviceID", "kind", "detail" FROM "event"
                WHERE "kind" IN ('install_failed', 'install_refused') AND "deviceID" IS NOT NULL
                AND substr("detail", 1, CAST(? AS INTEGER)) = ? ORDER BY "sequence"
                """,
                [.integer(Int64(prefix.unicodeScalars.count)), .text(prefix)]
            )
            return try rows.compactMap { row -> InstallFailure? in
                let detail = try row.string("detail")
                guard detail.hasPrefix(prefix) else { return nil }
                let rest = detail.dropFirst(prefix.count)
                let head = rest.prefix { $0 != ":" }.split(separator: " ", maxSplits: 1)
                guard head.count == 2, let version = Int(head[0]) else { return nil }
                return InstallFailure(
                    deviceID: try row.string("deviceID"),
                    version: version,
                    variant: String(head[1]),
                    kind: try row.string("kind")
                )
            }
        }
    }
}
