import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Models protected at rest, with real processes (`Protocol/AT-REST.md`): an `at-rest` and an `agent-only` model
/// are pushed; the agent's data directory then holds no plaintext tensor bytes anywhere, yet inference through
/// the local socket works and an application gets the at-rest model's weights (not the agent-only one's). Once the
/// coordinator is gone the key outlives it only for the offline lease; a copy of the data directory started
/// without the coordinator yields no weights; and the socket refuses a peer its policy does not allow.
extension EndToEnd {
    @Suite(.serialized) struct ProtectionTests {
        static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors").path

        struct Status: Decodable {
            struct Installed: Decodable {
                var model: String
                var version: Int
            }
            var installed: [Installed]
        }

        @Test func protectedModelsLeaveNoPlaintextOnDiskAndServeThroughTheSocket() async throws {
            try await Fleet("protection").run(scenario)
        }

        func scenario(_ fleet: Fleet) async throws {
            let weights = Array(try Data(contentsOf: URL(fileURLWithPath: Self.model)))
            let samples = Self.tensorSamples(weights)
            try #require(samples.count >= 8, "the fixture has tensor bytes to look for")
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let directory = fleet.root + "/agent-edge"
            let sockets = fleet.root + "/sockets"
            try FileManager.default.createDirectory(atPath: sockets, withIntermediateDirectories: true)
            let socket = sockets + "/edge.sock"
            // The test's own group is allowed by the group rule (not by being the agent's user).
            try fleet.startAgent(
                "edge",
                token: token.token,
                extra: ["--local-socket", socket, "--offline-lease", "20s", "--local-allow-group", "\(getgid())"]
            )
            let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["edge"] }
            try #require(online, "agent online: \(fleet.summary)")

            for (name, protection) in [("digits-mlp", "at-rest"), ("digits-secret", "agent-only")] {
                _ = try await fleet.fleetctl([
                    "model", "push", name, "--data-dir", fleet.coordinatorDirectory, "--version", "1",
                    "--variant", "fp32", "--file", Self.model, "--protection", protection, "--json",
                ])
            }
            let installed = try await eventually(timeout: .seconds(60)) {
                let result = try await runCommand("fleet-agent", ["status", "--data-dir", directory, "--json"])
                let status = try? JSONDecoder().decode(Status.self, from: Data(result.stdout.utf8))
                return Set(status?.installed.map(\.model) ?? []) == ["digits-mlp", "digits-secret"]
            }
            try #require(installed, "both models installed:\n\(fleet.agents["edge"]?.log.suffix(3000) ?? "")")

            // No file of the data directory holds any of the tensors' bytes; the documented plaintext path holds
            // a sealed model, not safetensors.
            #expect(try Self.filesHolding(samples, under: directory).isEmpty)
            let control = fleet.root + "/control"
            try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
            try Data(weights).write(to: URL(fileURLWithPath: control + "/plain.safetensors"))
            #expect(try Self.filesHolding(samples, under: control) == ["plain.safetensors"], "the scan finds plaintext")
            let current = Array(
                try Data(contentsOf: URL(fileURLWithPath: directory + "/models/digits-mlp/current.safetensors"))
            )
            #expect(Array(current.prefix(4)) == Array("TFSM".utf8))

            // Inference through the socket works for both; the application gets the at-rest weights, exactly.
            for name in ["digits-mlp", "digits-secret"] {
                let answer = try await Self.infer(name, socket)
                #expect(answer.ok, "\(name): \(answer.fields)")
                #expect((answer.fields["predictions"] as? [Int])?.count == 1)
            }
            let delivered = try await LocalSocketProbe.request(["op": "model", "model": "digits-mlp"], path: socket)
            #expect(delivered.ok, "\(delivered.fields)")
            #expect(delivered.fields["protection"] as? String == "at-rest")
            #expect(delivered.payload == weights, "the application receives the weights file byte for byte")
            let secret = try await LocalSocketProbe.request(["op": "model", "model": "digits-secret"], path: socket)
            #expect(secret.error == "agent-only")
            #expect(secret.payload.isEmpty)

            // The coordinator goes away: the agent keeps serving within its offline lease, then locks.
            await fleet.coordinator?.terminate()
            let locked = try await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
                try await Self.infer("digits-mlp", socket).error == "model-locked"
            }
            #expect(locked, "the key is dropped once the offline lease runs out")

            // A copy of the data directory, started elsewhere without the coordinator, yields no weights.
            await fleet.agents["edge"]?.terminate()
            let copy = fleet.root + "/stolen"
            let cp = Process()
            cp.executableURL = URL(fileURLWithPath: "/bin/cp")
            cp.arguments = ["-a", directory, copy]
            try cp.run()
            cp.waitUntilExit()
            #expect(try Self.filesHolding(samples, under: copy).isEmpty)
            let copySocket = sockets + "/stolen.sock"
            let thief = try await startListening(fleet, "stolen", copy, copySocket, ["--offline-lease", "1h"])
            let stolenInfer = try await Self.infer("digits-secret", copySocket)
            #expect(stolenInfer.error == "model-locked", "\(stolenInfer.fields)")
            let stolenModel = try await LocalSocketProbe.request(
                ["op": "model", "model": "digits-mlp"],
                path: copySocket
            )
            #expect(stolenModel.error == "model-locked", "\(stolenModel.fields)")
            #expect(stolenModel.payload.isEmpty)
            await thief.terminate()

            // The socket serves only the peers its policy allows: here only uid 65534, so not this test's user.
            #expect(getuid() != 65534)
            _ = try await startListening(fleet, "strict", copy, copySocket, ["--local-allow-uid", "65534"])
            let refused = try await LocalSocketProbe.request(["op": "status"], path: copySocket)
            #expect(refused.error == "forbidden", "\(refused.fields)")
        }

        /// Starts an agent on `directory` and waits for its local socket at `socket`.
        func startListening(
            _ fleet: Fleet,
            _ name: String,
            _ directory: String,
            _ socket: String,
            _ extra: [String]
        ) async throws -> FleetProcess {
            try? FileManager.default.removeItem(atPath: socket)
            let agent = try FleetProcess(
                "fleet-agent",
                ["--data-dir", directory, "--local-socket", socket] + extra,
                logDirectory: fleet.root,
                name: "agent-\(name)"
            )
            fleet.agents[name] = agent
            let listening = try await eventually(timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: socket)
            }
            try #require(listening, "the agent serves its socket:\n\(agent.log.suffix(2000))")
            return agent
        }

        static func infer(_ model: String, _ socket: String) async throws -> LocalSocketProbe.Answer {
            let rows: [[Double]] = [[Double](repeating: 0.25, count: 64)]
            return try await LocalSocketProbe.request(["op": "infer", "model": model, "rows": rows], path: socket)
        }

        /// 32-byte pieces of the tensor data (after the safetensors header), each with varied bytes so that a
        /// match cannot be a run of zeros.
        static func tensorSamples(_ file: [UInt8]) -> [[UInt8]] {
            guard file.count > 8 else { return [] }
            let headerLength = file[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
            let start = 8 + headerLength
            guard start + 64 < file.count else { return [] }
            let stride = (file.count - start - 32) / 32
            return (0..<32).map { start + $0 * stride }.map { Array(file[$0..<($0 + 32)]) }
                .filter { Set($0).count >= 12 }
        }

        /// The regular files under `root` that contain any of `samples`.
        static func filesHolding(_ samples: [[UInt8]], under root: String) throws -> [String] {
            var found: [String] = []
            let enumerator = FileManager.default.enumerator(atPath: root)
            while let relative = enumerator?.nextObject() as? String {
                let path = root + "/" + relative
                var info = stat()
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                if samples.contains(where: { data.range(of: Data($0)) != nil }) { found.append(relative) }
            }
            return found
        }
    }
}
