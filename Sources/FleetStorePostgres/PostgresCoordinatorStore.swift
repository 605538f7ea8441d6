import FleetStore
import Logging
import NIOPosix
import NIOSSL
import PostgresNIO

/// The coordinator store on PostgreSQL: every part of ``CoordinatorStore``, on the PostgreSQL twin of its schema
/// (issue 12). `fleet-coordinator --database` serves from it (``withStore``), and `fleetctl` reads it
/// (``openForReading(_:password:logger:)``).
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

    /// The pool's settings for `url`.
    static func clientConfiguration(
        _ url: PostgresDatabaseURL,
        password: String?,
        maximumConnections: Int
    ) -> PostgresClient.Configuration {
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
        return configuration
    }

    /// Opens the store on `url` for reading only, without migrating, for a short-lived process (`fleetctl`): the
    /// connection pool runs in a task of its own until the process exits. Throws `notFound` for a database no
    /// coordinator has set up, `incompatibleSchema` for one an older coordinator has not migrated yet, and
    /// `StoreError.io` when the server cannot be reached or refuses the login. Writes throw `readOnly`.
    public static func openForReading(
        _ url: PostgresDatabaseURL,
        password: String?,
        logger: Logger = Logger(label: "tinyfleet.postgres")
    ) async throws -> CoordinatorStore {
        let configuration = clientConfiguration(url, password: password, maximumConnections: 2)
        try await probe(url, password: password, logger: logger)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // Unstructured on purpose: the pool serves every read of the process, and ends with it.
        Task { await client.run() }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        var executor = PostgresExecutor(client: client, threadPool: threadPool, logger: logger)
        executor.readOnly = true
        return try await CoordinatorStore.readingPostgres(executor: executor)
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
        let configuration = clientConfiguration(url, password: password, maximumConnections: maximumConnections)
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
