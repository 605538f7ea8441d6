import Foundation
import Testing

/// What the metering tests share: a fleet with metered agents, their sockets, and `fleetctl usage`.
struct MeteringHarness {
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors").path

    struct Usage: Decodable, Equatable {
        var device: String
        var name: String
        var model: String
        var queries: UInt64
        var cloudQueries: UInt64
        var granted: UInt64
        var remaining: UInt64
        var amount: Double
        var amountMicros: UInt64
        var currency: String
        var lastReceiptAt: String?
        var flags: [String]
    }

    struct Quota: Decodable {
        var granted: UInt64
        var used: UInt64
        var remaining: UInt64
        var graceRemaining: UInt64
        var offline: Bool
        var rejectedGrants: Int
    }

    let fleet: Fleet

    /// Runs `body` on a new fleet, stops its processes however it ends, and cleans up.
    static func run(_ name: String, _ body: (MeteringHarness) async throws -> Void) async throws {
        let fleet = try Fleet(name)
        defer { fleet.cleanUp() }
        do {
            try await body(MeteringHarness(fleet: fleet))
        } catch {
            return try await fleet.stopAll(after: error)
        }
        await fleet.stopAll()
    }

    func directory(_ name: String) -> String { fleet.root + "/agent-\(name)" }
    func socket(_ name: String) -> String { fleet.root + "/s-\(name).sock" }

    /// Starts the coordinator and one agent per name (with its socket), pushes the digits model and waits until
    /// every agent answers through its socket.
    func start(_ names: [String], push extra: [String] = [], agentArguments: [String: [String]] = [:]) async throws {
        try await fleet.startCoordinator()
        let token = try await fleet.createToken(uses: names.count, labels: ["tier=metered"])
        for name in names {
            try fleet.startAgent(
                name,
                token: token.token,
                extra: ["--local-socket", socket(name)] + (agentArguments[name] ?? [])
            )
        }
        let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == Set(names) }
        try #require(online, "agents online: \(fleet.summary)")
        _ = try await fleet.fleetctl(
            [
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "1",
                "--variant", "fp32", "--file", Self.model,
            ] + extra
        )
        for name in names {
            let fits = !(agentArguments[name]?.contains("--capability") ?? false)
            let serving = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                await serves(name, installed: fits)
            }
            try #require(serving, "\(name) serves the model:\n\(fleet.agents[name]?.log.suffix(2000) ?? "")")
        }
    }

    /// One inference of one row through the socket.
    func infer(_ name: String) async throws -> LocalSocketProbe.Answer {
        let row = [Double](repeating: 0.25, count: 64)
        return try await LocalSocketProbe.request(
            ["op": "infer", "model": "digits-mlp", "rows": [row]],
            path: socket(name)
        )
    }

    /// `count` inferences: (answered, refused with quota-exhausted); anything else fails the test.
    func inferences(_ name: String, _ count: Int) async throws -> (answered: Int, refused: Int) {
        var answered = 0
        var refused = 0
        for _ in 0..<count {
            let answer = try await infer(name)
            if answer.ok, (answer.fields["predictions"] as? [Int])?.count == 1 {
                answered += 1
            } else if answer.error == "quota-exhausted" {
                refused += 1
            } else {
                Issue.record("unexpected answer: \(answer.fields)")
            }
        }
        return (answered, refused)
    }

    /// Whether the agent answers about the model on its socket with the model installed (`version`), or, with
    /// `installed` false, at all.
    func serves(_ name: String, installed: Bool = true) async -> Bool {
        guard
            let answer = try? await LocalSocketProbe.request(
                ["op": "quota", "model": "digits-mlp"],
                path: socket(name)
            )
        else { return false }
        return answer.ok && (!installed || answer.fields["version"] != nil)
    }

    /// The model's quota as the agent sees it (nil while the model is not metered); throws while not serving.
    func quota(_ name: String) async throws -> Quota? {
        let answer = try await LocalSocketProbe.request(["op": "quota", "model": "digits-mlp"], path: socket(name))
        guard answer.ok else { throw LocalSocketProbe.Failure(description: "quota: \(answer.fields)") }
        guard let quota = answer.fields["quota"] else { return nil }
        return try JSONDecoder().decode(Quota.self, from: JSONSerialization.data(withJSONObject: quota))
    }

    func usage(_ extra: [String] = []) async throws -> [Usage] {
        try JSONDecoder().decode(
            [Usage].self,
            from: Data(
                try await fleet.fleetctl(["usage", "--data-dir", fleet.coordinatorDirectory, "--json"] + extra).utf8
            )
        )
    }

    func grant(_ arguments: [String]) async throws {
        _ = try await fleet.fleetctl(["quota", "grant", "--data-dir", fleet.coordinatorDirectory] + arguments)
    }

    /// Runs SQL on an agent's database (the agent stopped), as an owner editing it would; `attaching` another
    /// agent's database makes it readable as `other`.
    func editDatabase(_ name: String, _ sql: String, attaching: String? = nil) async throws -> String {
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            if len(sys.argv) > 3:
                db.execute("ATTACH ? AS other", (sys.argv[3],))
            rows = db.execute(sys.argv[2]).fetchall()
            db.commit()
            print(rows)
            """
        let path = fleet.root + "/edit-database.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await offThePool {
            try runScript(
                "-c",
                ["exec python3 \"$0\" \"$@\"", path, directory(name) + "/agent.sqlite", sql]
                    + (attaching.map { [directory($0) + "/agent.sqlite"] } ?? [])
            )
        }
        try #require(result.status == 0, "python3 sqlite3: \(result.output)")
        return result.output
    }

    func tamperEvents() async throws -> [Fleet.Event] {
        try await fleet.events().filter { $0.kind == "usage_tamper" }
    }
}
