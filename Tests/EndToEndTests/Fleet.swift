import Foundation
import Testing

/// A coordinator process and the agents of one end-to-end scenario, driven through the real executables.
final class Fleet: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    let root: String
    let coordinatorDirectory: String
    var coordinator: FleetProcess?
    var agents: [String: FleetProcess] = [:]
    var port = 0
    var heartbeat = "300ms"
    var offlineTimeout = "1500ms"
    var extraCoordinatorArguments: [String] = []

    init(_ name: String) throws {
        root = try makeTemporaryDirectory("tinyfleet-\(name)")
        coordinatorDirectory = root + "/coordinator"
    }

    struct Device: Decodable {
        var id: String
        var name: String
        var status: String
        var lastSeen: String?
        var labels: [String: String]
        var capabilities: [String: String]
    }

    struct Event: Decodable {
        var sequence: Int64
        var device: String?
        var kind: String
        var detail: String
    }

    struct Token: Decodable {
        var token: String
        var id: String
    }

    func startCoordinator(port: Int = 0) async throws {
        let endpointPath = coordinatorDirectory + "/coordinator.json"
        try? FileManager.default.removeItem(atPath: endpointPath)
        coordinator = try FleetProcess(
            "fleet-coordinator",
            [
                "--data-dir", coordinatorDirectory, "--listen", "127.0.0.1:\(port)",
                "--heartbeat-interval", heartbeat, "--offline-timeout", offlineTimeout,
            ] + extraCoordinatorArguments,
            logDirectory: root,
            name: "coordinator-\(UUID().uuidString.prefix(4))"
        )
        let started = try await eventually(timeout: .seconds(20)) {
            FileManager.default.fileExists(atPath: endpointPath)
        }
        try #require(started, "coordinator wrote coordinator.json: \(coordinator?.log ?? "")")
        struct Endpoint: Decodable { var port: Int }
        let data = try Data(contentsOf: URL(fileURLWithPath: endpointPath))
        self.port = try JSONDecoder().decode(Endpoint.self, from: data).port
    }

    func fleetctl(_ arguments: [String]) async throws -> String {
        let result = try await runCommand("fleetctl", arguments)
        guard result.status == 0 else {
            throw FleetCtlFailure(arguments: arguments, status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    func createToken(uses: Int = 1, labels: [String] = []) async throws -> Token {
        let output = try await fleetctl(
            ["token", "create", "--data-dir", coordinatorDirectory, "--uses", "\(uses)", "--json"]
                + labels.flatMap { ["--label", $0] }
        )
        return try JSONDecoder().decode(Token.self, from: Data(output.utf8))
    }

    func devices() async throws -> [Device] {
        try JSONDecoder().decode(
            [Device].self,
            from: Data(await fleetctl(["devices", "--data-dir", coordinatorDirectory, "--json"]).utf8)
        )
    }

    func events() async throws -> [Event] {
        try JSONDecoder().decode(
            [Event].self,
            from: Data(
                await fleetctl(["events", "--data-dir", coordinatorDirectory, "--limit", "1000", "--json"]).utf8
            )
        )
    }

    @discardableResult
    /// Starts agent `name` on this fleet's coordinator, or on `coordinators` (`HOST:PORT[,HOST:PORT…]`) when given;
    /// an empty `coordinators` passes no `--coordinator` (the agent uses the list it saved).
    func startAgent(
        _ name: String,
        token: String?,
        coordinators: String? = nil,
        extra: [String] = []
    ) throws -> FleetProcess {
        let coordinators = coordinators ?? "127.0.0.1:\(port)"
        var arguments = ["--data-dir", root + "/agent-\(name)", "--name", name]
        if !coordinators.isEmpty { arguments += ["--coordinator", coordinators] }
        if let token { arguments += ["--token", token] }
        let agent = try FleetProcess("fleet-agent", arguments + extra, logDirectory: root, name: "agent-\(name)")
        agents[name] = agent
        return agent
    }

    func onlineNames() async throws -> Set<String> {
        Set(try await devices().filter { $0.status == "online" }.map(\.name))
    }

    /// `name=status` of every device, for failure messages. Swift Testing evaluates a message only when its
    /// expectation fails, in a synchronous autoclosure: this one runs `fleetctl` blocking, which is fine then.
    var summary: String {
        let listing = try? runCommandBlocking("fleetctl", ["devices", "--data-dir", coordinatorDirectory, "--json"])
        let devices = listing.flatMap { try? JSONDecoder().decode([Device].self, from: Data($0.stdout.utf8)) } ?? []
        return devices.map { "\($0.name)=\($0.status)" }.joined(separator: ", ")
    }

    func stopAll() async {
        for agent in agents.values { await agent.terminate() }
        await coordinator?.terminate()
    }

    /// Removes the scenario's folder, unless one of its tests recorded an issue: then its logs stay for reading.
    func cleanUp() {
        if ChildLogs.failed(under: root) {
            print("end-to-end logs kept in \(root)")
            return
        }
        try? FileManager.default.removeItem(atPath: root)
    }
}

struct FleetCtlFailure: Error, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stderr: String
    var description: String { "fleetctl \(arguments.joined(separator: " ")) exited \(status): \(stderr)" }
}
