import FleetStore
import Logging
import NIOPosix
import NIOSSL
import PostgresNIO

/// The coordinator store on PostgreSQL: every part of ``CoordinatorStore``, on the PostgreSQL twin of its schema
/// (issue 12).
public enum PostgresCoordinatorStore {
    /// How many connections the store's pool opens at most, and how many transactions run at once.
    public static let defaultMaximumConnections = 8

    /// How long one connection attempt may take before it fails, in seconds.
    public static let connectTimeoutSeconds: Int64 = 10

    /// Opens and closes one connection before the pool starts, so that a server that is not listening, a refused
    /// login or a missing database fails at once with the server's reason (the pool would retry for about a
    /// minute before giving up).
    static func probe(_ url: PostgresDatabaseURL, password: String?, logger: Logger) async throws {
        do {
            var configuration = PostgresConnection.Configuration(
                host: url.host,
                port: url.port,
                username: url.user,
                password: password,
                database: url.database,
                tls: url.tls == .require
                    ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
            )
            configuration.options.connectTimeout = .seconds(connectTimeoutSeconds)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch {
            let reason = PostgresErrors.storeError(error)
            throw reason.with("cannot open \(url): \(reason.message)")
        }
    }

    /// Connects to `url` (with `password`, from ``PostgresPassword``), migrates the database, and runs `body` with
    /// the store; the connections close when `body` returns or throws. Throws `StoreError.io` when the server
    /// cannot be reached or refuses the login.
    public static func withStore<T>(
        _ url: PostgresDatabaseURL,
        password: String?,
        maximumConnections: Int = defaultMaximumConnections,
        logger: Logger = Logger(label: "tinyfleet.postgres"),
        writeObserver: (@Sendable (Duration) -> Void)? = nil,
        _ body: (CoordinatorStore) async throws -> T
    ) async throws -> T {
        var configuration = PostgresClient.Configuration(
            host: url.host,
            port: url.port,
            username: url.user,
            password: password,
            database: url.database,
            tls: url.tls == .require ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(connectTimeoutSeconds)
        try await probe(url, password: password, logger: logger)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let threadPool = NIOThreadPool(numberOfThreads: maximumConnections)
        threadPool.start()
        defer { threadPool.shutdownGracefully { _ in } }
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let executor = PostgresExecutor(client: client, threadPool: threadPool, logger: logger)
            let store = try await CoordinatorStore.migratingPostgres(executor: executor, writeObserver: writeObserver)
            return try await body(store)
        }
    }
}
