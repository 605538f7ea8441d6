import Foundation

/// The `--json` form of every TinyFleet command: pretty, key-sorted, dates in ISO 8601 (never seconds since 2001).
public enum JSONOutput {
    public static func string(_ value: some Encodable) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }

    /// The same JSON as bytes (what the coordinator's HTTP admin API serves).
    public static func data(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }
}
