import FleetCoordinator
import FleetStore
import FleetStorePostgres

/// `fleetctl`'s reads of a coordinator that keeps its state in PostgreSQL: one read-only store per database for
/// the process, opened on first use.
actor PostgresReaders {
    static let shared = PostgresReaders()

    private var opened: [String: CoordinatorStore] = [:]

    func store(_ record: CoordinatorDataDirectory.DatabaseRecord) async throws -> CoordinatorStore {
        if let store = opened[record.url] { return store }
        let url: PostgresDatabaseURL
        let password: String?
        do {
            url = try PostgresDatabaseURL(parsing: record.url)
            password = try PostgresPassword.resolve(file: record.passwordFile)
        } catch {
            throw ControlError("cannot read the coordinator's PostgreSQL state: \(error)")
        }
        let store = try await PostgresCoordinatorStore.openForReading(url, password: password)
        opened[record.url] = store
        return store
    }
}
