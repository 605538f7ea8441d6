import Foundation

/// JSON text columns: deterministic output (sorted keys), and decoding failures reported as `corrupt`.
///
/// Make one per database access and reuse it for every row of a batch.
struct JSONColumn {
    private let encoder: JSONEncoder
    private let decoder = JSONDecoder()

    init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    func encode<T: Encodable>(_ value: T) throws -> String {
        let data = try encoder.encode(value)
        guard let text = String(data: data, encoding: .utf8) else {
            throw StoreError.invalidArgument.with("JSON encoding did not produce UTF-8")
        }
        return text
    }

    func decode<T: Decodable>(_ type: T.Type, from text: String, column: String) throws -> T {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError.corrupt.with("column \(column) holds invalid JSON: \(error)")
        }
    }
}
