import FleetCoordinator
import FleetWire
import Foundation

/// The demo's data: the digits set and model files that ship with the repository's tests.
enum DemoData {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var digits: String { repository.appendingPathComponent("Tests/FleetLearningTests/Fixtures/digits.csv").path }
    static var models: String { repository.appendingPathComponent("Tests/FleetDeltaTests/Fixtures").path }

    /// Splits the digits training rows over `devices` by their `client` column (client % devices), and the
    /// test rows into a file for the coordinator. Nil when the data is not in this checkout.
    static func splitDigits(into directory: String, devices: Int) throws -> (clients: [String], test: String)? {
        guard let text = try? String(contentsOfFile: digits, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map(String.init)
        guard let headerLine = lines.first else { return nil }
        let header = headerLine.split(separator: ",").map(String.init)
        guard let label = header.firstIndex(of: "label"), let split = header.firstIndex(of: "split"),
            let client = header.firstIndex(of: "client")
        else { return nil }
        let head = header[...label].joined(separator: ",")
        var clients = Array(repeating: [head], count: devices)
        var test = [head]
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count > client else { continue }
            let row = cells[...label].joined(separator: ",")
            if cells[split] == "test" {
                test.append(row)
            } else if let owner = Int(cells[client]) {
                clients[owner % devices].append(row)
            }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths: [String] = []
        for (index, rows) in clients.enumerated() {
            let path = directory + "/train-\(index + 1).csv"
            try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let testPath = directory + "/test.csv"
        try (test.joined(separator: "\n") + "\n").write(toFile: testPath, atomically: true, encoding: .utf8)
        return (paths, testPath)
    }
}

/// The demo's model part: variants and deltas, then a few federated rounds.
struct DemoModels {
    let inspector: FleetInspector
    let print: @Sendable (String) -> Void
    let agents: Int

    func run(coordinatorDirectory: String, testFile: String?) async throws {
        let models = DemoData.models
        guard FileManager.default.fileExists(atPath: models + "/digits-mlp-v1-fp32.safetensors") else {
            print("\n(model files not found in this checkout: skipping model delivery and federated rounds)")
            return
        }
        print(
            "\n▶ publishing digits-mlp v1 (fp32 needs 128 MiB of RAM, int8 32 MiB); each device gets the variant it fits…"
        )
        for (variant, accuracy, ram) in [("fp32", "0.971", "134217728"), ("int8", "0.973", "33554432")] {
            _ = try await push(version: 1, variant: variant, accuracy: accuracy, ram: ram, from: models)
        }
        try await waitForInstalls(model: "digits-mlp", version: 1)
        print("▶ publishing v2: devices receive deltas from the version they run…")
        for (variant, accuracy, ram) in [("fp32", "0.980", "134217728"), ("int8", "0.978", "33554432")] {
            _ = try await push(version: 2, variant: variant, accuracy: accuracy, ram: ram, from: models)
        }
        try await waitForInstalls(model: "digits-mlp", version: 2)
        print("\n$ fleetctl transfers --data-dir \(coordinatorDirectory)")
        let transfers = try await inspector.transfers(deviceID: nil, model: "digits-mlp")
        print(
            Table(
                headers: ["DEVICE", "VERSION", "VARIANT", "ENCODING", "WIRE BYTES", "FULL (zlib)"],
                rows: transfers.map {
                    [
                        $0.deviceID, "v\($0.version)", $0.variant, $0.encoding, String($0.wireBytes),
                        String($0.fullBytes),
                    ]
                }
            ).render()
        )

        guard let testFile, let evaluation = FileManager.default.contents(atPath: testFile) else { return }
        print("\n▶ federated learning: a fresh 64-64-10 MLP trained by the devices on their own rows (never uploaded)…")
        _ = try await inspector.initModel(
            InitModel(
                requestID: 1,
                model: "digits-fl",
                variant: "fp32",
                architecture: "mlp",
                layers: [64, 64, 10],
                seed: 1,
                metadata: ["feature-scale": "0.0625"]
            )
        )
        try await waitForInstalls(model: "digits-fl", version: 1)
        let rounds = 5
        let started = try await inspector.startRounds(
            StartRound(
                requestID: 1,
                model: "digits-fl",
                variant: "fp32",
                clients: agents,
                minimumClients: max(1, agents - 1),
                deadlineMilliseconds: 30_000,
                parameters: TrainingParameters(
                    localEpochs: 10,
                    learningRate: 0.1,
                    batchSize: 16,
                    seed: 7,
                    quantize: false
                ),
                strategy: "fedavg+adam=0.05",
                rounds: rounds,
                hierarchical: false,
                personalPrefix: "",
                evaluationCSV: Array(evaluation)
            )
        )
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let done = try await inspector.rounds(model: "digits-fl").filter {
                $0.round >= started.firstRound && $0.status != "running"
            }
            if done.count >= rounds { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        print("\n$ fleetctl rounds digits-fl --data-dir \(coordinatorDirectory)")
        print(Output.roundsTable(try await inspector.rounds(model: "digits-fl")))
    }

    private func push(
        version: Int,
        variant: String,
        accuracy: String,
        ram: String,
        from models: String
    ) async throws -> PushView {
        try await inspector.pushModel(
            name: "digits-mlp",
            version: version,
            variant: variant,
            file: "\(models)/digits-mlp-v\(version)-\(variant).safetensors",
            requirements: ["min-ram": ram],
            metadata: ["accuracy": accuracy],
            progress: { _, _ in }
        )
    }

    private func waitForInstalls(model: String, version: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let devices = try await inspector.devices().filter { $0.status == "online" }
            if devices.allSatisfy({ device in
                device.installedModels.contains { $0.name == model && $0.version >= version }
            }) {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ControlError("demo timed out waiting for \(model) v\(version) to install")
    }
}
