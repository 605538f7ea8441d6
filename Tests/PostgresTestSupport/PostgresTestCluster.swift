import FleetStorePostgres
import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL server for the store tests, one per test process, shared by the suites; each test gets a fresh
/// database of its own (``freshDatabase()``).
///
/// With `TINYFLEET_TEST_POSTGRES=postgres://USER@HOST:PORT/DB` set, that server is used (its user must be allowed
/// to create databases; `TINYFLEET_DATABASE_PASSWORD` gives the password if it needs one). Otherwise a throwaway
/// cluster is started: `initdb` in a temporary directory (as the `postgres` user when the tests run as root, since
/// PostgreSQL refuses to run as root), listening on 127.0.0.1 at a free port with its socket in that directory,
/// stopped with `pg_ctl stop -m immediate` when the test process exits. Its log is printed only when it fails to
/// start. PostgreSQL missing is a failure that says what to install, never a skip.
package actor PostgresTestCluster {
    package static let shared = PostgresTestCluster()

    private var server: Result<Server, PostgresClusterError>?
    private var starting: Task<Result<Server, PostgresClusterError>, Never>?

    private struct Server: Sendable {
        let user: String
        let host: String
        let port: Int
        let adminDatabase: String
        let password: String?
    }

    /// A new, empty database on the shared server.
    package func freshDatabase() async throws -> (url: PostgresDatabaseURL, password: String?) {
        let server = try await started()
        let name = "tinyfleet_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        try await Self.admin(server, #"CREATE DATABASE "\#(name)""#)
        let url = try PostgresDatabaseURL(
            parsing: "postgres://\(server.user)@\(server.host):\(server.port)/\(name)?sslmode=disable"
        )
        return (url, server.password)
    }

    /// Drops a database made by ``freshDatabase()`` (the throwaway cluster goes as a whole; a given server keeps no
    /// test databases).
    package func drop(_ url: PostgresDatabaseURL) async throws {
        try await Self.admin(try started(), #"DROP DATABASE IF EXISTS "\#(url.database)" WITH (FORCE)"#)
    }

    private func started() async throws -> Server {
        if let server { return try server.get() }
        // initdb and `pg_ctl start -w` take seconds, minutes on a loaded machine: they wait on a thread of their
        // own, not on one of the few threads of Swift concurrency's pool that the other tests need meanwhile. The
        // actor is free while they run, so the tests that arrive meanwhile wait for the same start.
        let starting =
            self.starting
            ?? Task {
                await withCheckedContinuation { continuation in
                    Thread {
                        continuation.resume(returning: Result { () throws(PostgresClusterError) in try Self.start() })
                    }.start()
                }
            }
        self.starting = starting
        let result = await starting.value
        server = result
        return try result.get()
    }

    private static func start() throws(PostgresClusterError) -> Server {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["TINYFLEET_TEST_POSTGRES"] {
            do {
                let url = try PostgresDatabaseURL(parsing: given)
                let password = try PostgresPassword.resolve(file: nil)
                return Server(
                    user: url.user,
                    host: url.host,
                    port: url.port,
                    adminDatabase: url.database,
                    password: password
                )
            } catch {
                throw PostgresClusterError("TINYFLEET_TEST_POSTGRES is not usable: \(error)")
            }
        }
        let cluster = try ThrowawayCluster.start()
        return Server(user: "postgres", host: "127.0.0.1", port: cluster.port, adminDatabase: "postgres", password: nil)
    }

    /// Runs one statement on the server's administration database.
    private static func admin(_ server: Server, _ sql: String) async throws {
        let configuration = PostgresConnection.Configuration(
            host: server.host,
            port: server.port,
            username: server.user,
            password: server.password,
            database: server.adminDatabase,
            tls: .disable
        )
        let connection = try await PostgresConnection.connect(
            configuration: configuration,
            id: 1,
            logger: Logger(label: "tinyfleet.tests.postgres-admin")
        )
        do {
            try await connection.query(
                PostgresQuery(unsafeSQL: sql),
                logger: Logger(label: "tinyfleet.tests.postgres-admin")
            )
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

package struct PostgresClusterError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
