import GRDB

extension StoreError {
    /// Converts anything thrown inside a database access into a `StoreError`.
    static func from(_ error: any Error) -> StoreError {
        if let error = error as? StoreError {
            return error
        }
        if let error = error as? DatabaseError {
            return from(error)
        }
        if error is DecodingError || error is RowDecodingError {
            return corrupt.with("cannot decode stored value: \(error)")
        }
        if error is EncodingError {
            return invalidArgument.with("cannot encode value: \(error)")
        }
        return io.with("\(error)")
    }

    private static func from(_ error: DatabaseError) -> StoreError {
        let text = "\(error)"
        switch error.resultCode {
        case .SQLITE_CONSTRAINT:
            return duplicate.with(text)
        case .SQLITE_READONLY:
            return readOnly.with(text)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return busy.with(text)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_MISMATCH:
            return corrupt.with(text)
        default:
            return io.with(text)
        }
    }
}

/// Runs `body`, rethrowing every error as a `StoreError`.
func mappingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw StoreError.from(error)
    }
}

/// Runs `body`, rethrowing every error as a `StoreError`, except `CancellationError` which stays as is.
func mappingErrorsAsync<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as CancellationError {
        throw error
    } catch {
        throw StoreError.from(error)
    }
}
