import FleetClient
import FleetTrust
import FleetWire
import Foundation

/// A real `fleet-coordinator` process on a data directory, plus the admin protocol calls the benchmarks need.
struct CoordinatorHarness {
    let binDirectory: String
    let dataDirectory: String

    private struct Endpoint: Decodable {
        var host: String
        var port: Int
        var pid: Int32
    }

    /// Starts the coordinator on 127.0.0.1 with a free port and waits until it has written its endpoint.
    /// With `httpListen`, it also serves the operator's HTTP listener on 127.0.0.1 with a free port (`http` in
    /// `coordinator.json`).
    func start(
        logName: String,
        heartbeatInterval: String,
        httpListen: Bool = false
    ) async throws -> (ChildProcess, CoordinatorAddress) {
        let endpointPath = dataDirectory + "/coordinator.json"
        try? FileManager.default.removeItem(atPath: endpointPath)
        let child = try ChildProcess(
            name: "fleet-coordinator",
            executable: binDirectory + "/fleet-coordinator",
            // The load generator opens up to ~20,000 connections at once and does not retry after `busy`: the
            // handshake caps (SPEC 6.6) are raised so that this measures capacity, not the caps.
            arguments: [
                "--data-dir", dataDirectory, "--listen", "127.0.0.1:0", "--heartbeat-interval", heartbeatInterval,
                "--max-handshakes", "1000000", "--max-handshake-bytes", "4GiB",
            ] + (httpListen ? ["--http-listen", "127.0.0.1:0"] : []),
            stdoutPath: dataDirectory + "/\(logName).stdout",
            stderrPath: dataDirectory + "/\(logName).log"
        )
        // Bounded: 30 s.
        for _ in 0..<300 {
            if let data = FileManager.default.contents(atPath: endpointPath),
                let endpoint = try? JSONDecoder().decode(Endpoint.self, from: data), endpoint.pid == child.pid
            {
                return (child, CoordinatorAddress(host: endpoint.host, port: endpoint.port))
            }
            guard child.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        child.stop()
        throw BenchError("fleet-coordinator did not start; see \(child.stderrPath)")
    }

    func credential() throws -> AdminCredential {
        guard let credential = try AdminCredentialFile.load(path: dataDirectory + "/admin.key") else {
            throw BenchError("no admin.key in \(dataDirectory)")
        }
        return credential
    }

    /// Creates an enrolment token with `uses` enrolments through the admin protocol.
    func createToken(at address: CoordinatorAddress, uses: Int) async throws -> String {
        let credential = try credential()
        return try await withTimeout(30, "createToken") {
            try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                try await Self.authenticateAdmin(&connection, credential)
                let reply = try await connection.request(
                    .createToken(CreateToken(requestID: 1, uses: uses, expiresInSeconds: 0, labels: [:]))
                )
                guard case .tokenCreated(let created) = reply else { throw FleetClientError.unexpected(reply) }
                return created.token
            }
        }
    }

    /// Devices the coordinator knows, and how many of them it considers online (first page of up to 200).
    func deviceCounts(at address: CoordinatorAddress) async throws -> (total: Int, onlineInPage: Int) {
        let credential = try credential()
        return try await withTimeout(30, "listDevices") {
            try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                try await Self.authenticateAdmin(&connection, credential)
                let reply = try await connection.request(.listDevices(ListDevices(requestID: 1, offset: 0, limit: 200)))
                guard case .deviceList(let list) = reply else { throw FleetClientError.unexpected(reply) }
                return (list.total, list.devices.filter(\.online).count)
            }
        }
    }

    static func authenticateAdmin(_ connection: inout FleetConnection, _ credential: AdminCredential) async throws {
        let accept = try await connection.hello(role: .admin, software: "fleet-bench/0.1.0")
        try await connection.authenticateAdmin(credential: credential, nonce: accept.nonce)
    }
}

/// Runs `operation`, failing if it takes longer than `seconds`.
func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            throw BenchError("\(what) timed out after \(Int(seconds)) s")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw BenchError("\(what): no result") }
        return first
    }
}
