import ArgumentParser
import FleetStore
import FleetTrust
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `fleet-bench console`: the render time of the console's fleet page, a device page and a model page for a large
/// fleet. The devices are written into a temporary `coordinator.sqlite` through FleetStore's API (enrolled with
/// labels and capabilities, never connected, each running one of two versions of a model with one transfer), then
/// a real `fleet-coordinator --http-listen 127.0.0.1:0` serves the pages and each is fetched `--requests` times, one
/// at a time; the figure is the time from request to the last byte.
struct ConsoleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Time to serve the console's fleet page, a device page and a model page for --devices devices."
    )

    @Option(help: "Devices in the generated store.")
    var devices = 20_000

    @Option(help: "Requests per page (after one unmeasured warm-up request).")
    var requests = 20

    @Option(help: "Directory holding fleet-coordinator (default: next to fleet-bench).")
    var binDir: String?

    struct PageTiming: Codable {
        var path: String
        var bytes: Int
        var medianMilliseconds: Double
        var meanMilliseconds: Double
        var maximumMilliseconds: Double
    }

    func run() async throws {
        guard (1...1_000_000).contains(devices), (1...10_000).contains(requests) else {
            throw ValidationError("--devices 1…1000000, --requests 1…10000")
        }
        let directory = NSTemporaryDirectory() + "tinyfleet-console-bench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let started = ContinuousClock.now
        let someDevice = try await Self.generate(devices, into: directory + "/coordinator.sqlite")
        print("generated \(devices) devices in \(ContinuousClock.now - started)")
        let bin = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let child = try ChildProcess(
            name: "fleet-coordinator",
            executable: bin + "/fleet-coordinator",
            arguments: ["--data-dir", directory, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
            stdoutPath: directory + "/coordinator.stdout",
            stderrPath: directory + "/coordinator.log"
        )
        defer { child.stop() }
        let address = try await Self.httpAddress(directory: directory, child: child)
        for path in ["/", "/devices/\(someDevice)", "/models/\(Self.model)"] {
            let timing = try await Self.time("http://\(address)\(path)", requests: requests)
            print(
                "\(path): \(timing.bytes) bytes, median \(Self.format(timing.medianMilliseconds)) ms, mean "
                    + "\(Self.format(timing.meanMilliseconds)) ms, max \(Self.format(timing.maximumMilliseconds)) ms "
                    + "(\(requests) requests)"
            )
        }
    }

    /// The model the generated fleet runs.
    static let model = "bench-mlp"

    /// Enrols `count` devices (regions eu/us/ap, RAM and cores capabilities) with one token; returns one's id.
    /// Then a model with two versions: every device reports running one of them (v2 on two thirds), and each
    /// has one transfer of what it runs, a delta for v2.
    static func generate(_ count: Int, into path: String) async throws -> String {
        let store = try CoordinatorStore(path: path)
        let secret = Array("console-bench".utf8)
        _ = try await store.createToken(
            NewEnrolmentToken(
                id: "tok_bench",
                secretHash: Digest.sha256(secret),
                uses: count,
                expiresAt: nil,
                labels: [:],
                createdAt: Date()
            )
        )
        let regions = ["eu", "us", "ap"]
        var last = ""
        for index in 0..<count {
            let key = Self.publicKey(index)
            last = Self.deviceID(index)
            _ = try await store.enrol(
                device: NewDevice(
                    id: last,
                    name: "device-\(index)",
                    publicKey: key,
                    labels: ["region": regions[index % regions.count], "rack": "r\(index % 40)"],
                    capabilities: ["ram": String(64 << 20), "cores": "2", "arch": "aarch64"],
                    agentVersion: "bench",
                    enrolledAt: Date()
                ),
                tokenHash: Digest.sha256(secret),
                now: Date()
            )
        }
        try await generateModel(count, in: store)
        return last
    }

    /// The generated device `index`'s public key (not a real one: the devices never connect) and its id.
    private static func publicKey(_ index: Int) -> [UInt8] { Digest.sha256(Array("device \(index)".utf8)) }
    private static func deviceID(_ index: Int) -> String { "dev_" + Digest.hex(publicKey(index).prefix(8)) }

    private static func generateModel(_ count: Int, in store: CoordinatorStore) async throws {
        let now = Date()
        for version in [1, 2] {
            try await store.addModelVariant(
                NewModelVariant(
                    model: model,
                    version: version,
                    variant: "fp32",
                    size: 200_000,
                    sha256: Digest.sha256(Array("\(model) v\(version)".utf8)),
                    blobPath: "blobs/\(model)-\(version)",
                    requirements: [:],
                    metadata: [:],
                    signedManifest: [],
                    createdAt: now
                )
            )
        }
        func version(_ index: Int) -> Int { index % 3 == 0 ? 1 : 2 }
        for start in stride(from: 0, to: count, by: 1000) {
            try await store.recordHeartbeats(
                (start..<min(start + 1000, count)).map { index in
                    let runs = InstalledModelRecord(
                        name: model,
                        version: version(index),
                        variant: "fp32",
                        sha256: Digest.sha256(Array("\(model) v\(version(index))".utf8))
                    )
                    return HeartbeatUpdate(
                        deviceID: deviceID(index),
                        lastSeen: now,
                        reported: ReportedState(agentVersion: "bench", capabilities: [:], installedModels: [runs])
                    )
                }
            )
        }
        for index in 0..<count {
            let delta = version(index) == 2
            try await store.recordTransfer(
                NewTransfer(
                    deviceID: deviceID(index),
                    model: model,
                    version: version(index),
                    variant: "fp32",
                    encoding: delta ? "delta" : "full",
                    baseVersion: delta ? 1 : nil,
                    wireBytes: delta ? 120_000 : 180_000,
                    fullBytes: 180_000,
                    fileBytes: 200_000,
                    startedAt: now,
                    completedAt: now,
                    resumedFrom: 0
                )
            )
        }
    }

    /// The `http` address the coordinator wrote into `coordinator.json` (waits up to 60 s).
    static func httpAddress(directory: String, child: ChildProcess) async throws -> String {
        struct Endpoint: Decodable {
            var http: String?
            var pid: Int32
        }
        for _ in 0..<600 {
            if let data = FileManager.default.contents(atPath: directory + "/coordinator.json"),
                let endpoint = try? JSONDecoder().decode(Endpoint.self, from: data), endpoint.pid == child.pid,
                let http = endpoint.http
            {
                return http
            }
            guard child.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("fleet-coordinator did not start; see \(child.stderrPath)")
    }

    static func time(_ url: String, requests: Int) async throws -> PageTiming {
        guard let url = URL(string: url) else { throw BenchError("bad URL \(url)") }
        var samples: [Double] = []
        var bytes = 0
        for index in 0...requests {
            let start = ContinuousClock.now
            let (data, response) = try await URLSession.shared.data(from: url)
            let elapsed = ContinuousClock.now - start
            guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                throw BenchError("\(url) answered \(String(describing: (response as? HTTPURLResponse)?.statusCode))")
            }
            bytes = data.count
            if index > 0 {
                samples.append(
                    Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
                )
            }
        }
        let sorted = samples.sorted()
        return PageTiming(
            path: url.path,
            bytes: bytes,
            medianMilliseconds: sorted[sorted.count / 2],
            meanMilliseconds: samples.reduce(0, +) / Double(samples.count),
            maximumMilliseconds: sorted.last ?? 0
        )
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
