import FleetStorePostgres
import PostgresTestSupport
import Testing

@testable import FleetStore

/// The coordinator store's backends: each test of the store's suites runs against SQLite in memory, SQLite on disk
/// and PostgreSQL, so the backends cannot drift.
enum CoordinatorBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory
    case file
    case postgres

    var testDescription: String { rawValue }
}

/// Runs `body` with a new, empty coordinator store on `backend`, then deletes it.
@discardableResult
func withCoordinator<T>(_ backend: CoordinatorBackend, _ body: (CoordinatorStore) async throws -> T) async throws -> T {
    switch backend {
    case .inMemory: return try await withCoordinator(StoreKind.inMemory, body)
    case .file: return try await withCoordinator(StoreKind.file, body)
    case .postgres: return try await withPostgresCoordinator(body)
    }
}

/// Runs `body` with a coordinator store on a fresh database of the test PostgreSQL (``PostgresTestCluster``).
func withPostgresCoordinator<T>(_ body: (CoordinatorStore) async throws -> T) async throws -> T {
    let (url, password) = try await PostgresTestCluster.shared.freshDatabase()
    do {
        let result = try await PostgresCoordinatorStore.withStore(url, password: password, body)
        try await PostgresTestCluster.shared.drop(url)
        return result
    } catch {
        try? await PostgresTestCluster.shared.drop(url)
        throw error
    }
}
