import FleetStore
import PostgresNIO

/// PostgreSQL's errors as ``StoreError``s, by SQLSTATE class, the way SQLite's result codes are mapped.
enum PostgresErrors {
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? PSQLError else { return StoreError.io.with("PostgreSQL: \(error)") }
        let state = error.serverInfo?[.sqlState] ?? ""
        let text = describe(error)
        switch state {
        case _ where state.hasPrefix("23"): return StoreError.duplicate.with(text)
        case "40001", "40P01": return StoreError.busy.with(text)
        case "25006": return StoreError.readOnly.with(text)
        case "42P01", "42703": return StoreError.incompatibleSchema.with(text)
        default: return StoreError.io.with(text)
        }
    }

    /// A serialization failure or deadlock: the transaction may succeed when run again.
    static func isSerializationFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// The server's SQLSTATE and message, or the client's error code (PSQLError's own description hides both).
    static func describe(_ error: PSQLError) -> String {
        if let info = error.serverInfo {
            let message = info[.message] ?? "no message"
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "PostgreSQL error \(info[.sqlState] ?? "?"): \(message)\(detail)"
        }
        let underlying = error.underlying.map { ": \($0)" } ?? ""
        return "PostgreSQL connection failed (\(error.code))\(underlying)"
    }
}
