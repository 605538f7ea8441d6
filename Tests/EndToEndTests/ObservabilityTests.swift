import Foundation
import Testing

/// Observability with privacy, with real processes: 10 agents run the digits model on their own rows through
/// `fleet-agent infer`; the 3 in region `ap` see inverted images and `fleetctl drift` flags exactly them (and
/// their region). 4 agents consent to samples, 6 do not: the coordinator holds samples from exactly the 4; one
/// revokes and its samples are gone on both sides.
extension EndToEnd {
    @Suite(.serialized) struct ObservabilityTests {
        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        static let model = fixtures.appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors")
            .path
        static let digits = fixtures.appendingPathComponent("FleetObserveTests/Fixtures/digits.csv").path

        struct DriftRow: Decodable {
            var device: String?
            var name: String?
            var region: String?
            var drifted: Bool
            var psi: Double
            var js: Double
            var worstFeature: String?
            var samples: Int
            var reports: Int
            var wireBytes: Int
            var rawInputBytes: Int
        }

        struct Holding: Decodable {
            var device: String
            var name: String
            var samples: Int
        }

        struct InferOutput: Decodable {
            var predictions: [Int]
            var observed: Bool
            var via: String
        }

        struct AgentSamples: Decodable {
            var samples: Int
        }

        struct AgentDrift: Decodable {
            var references: [String]
        }

        /// Writes `rows` (pixels 0…16) with a `label` column as a digits CSV.
        func writeCSV(_ rows: [([Float], Int)], to path: String) throws {
            let header = ((0..<64).map { "p\($0)" } + ["label"]).joined(separator: ",")
            let lines = rows.map { pixels, label in (pixels.map { "\(Int($0))" } + ["\(label)"]).joined(separator: ",")
            }
            try ([header] + lines).joined(separator: "\n").appending("\n").write(
                toFile: path,
                atomically: true,
                encoding: .utf8
            )
        }

        func digitsRows() throws -> (train: [([Float], Int)], test: [([Float], Int)]) {
            let text = try String(contentsOfFile: Self.digits, encoding: .utf8)
            var train: [([Float], Int)] = []
            var test: [([Float], Int)] = []
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == 67, let label = Int(fields[64]) else { continue }
                let row = (fields[0..<64].compactMap { Float($0) }, label)
                if fields[65] == "train" { train.append(row) } else { test.append(row) }
            }
            return (train, test)
        }

        func agent(
            _ fleet: Fleet,
            _ arguments: [String]
        ) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await runCommand("fleet-agent", arguments)
        }

        @Test func driftIsFlaggedAndSamplesFollowConsent() async throws {
            try await Fleet("observability").run(scenario)
        }

        func scenario(_ fleet: Fleet) async throws {
            fleet.extraCoordinatorArguments = ["--http-listen", "127.0.0.1:0"]
            try await fleet.startCoordinator()
            let regions = ["eu": 4, "us": 3, "ap": 3]
            var names: [String] = []
            for (region, count) in regions.sorted(by: { $0.key < $1.key }) {
                let token = try await fleet.createToken(uses: count, labels: ["region=\(region)"])
                for index in 1...count {
                    let name = "\(region)-\(index)"
                    names.append(name)
                    try fleet.startAgent(name, token: token.token, extra: ["--report-interval", "1s"])
                }
            }
            let shifted = Set(["ap-1", "ap-2", "ap-3"])
            let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 10 }
            try #require(online, "all 10 online: \(fleet.summary)\n\(fleet.coordinator?.log.suffix(2000) ?? "")")
            let directory = { (name: String) in fleet.root + "/agent-\(name)" }

            // Every owner allows drift statistics (histograms only); nothing else yet.
            for name in names {
                let result = try await agent(fleet, ["consent", "grant", "drift-stats", "--data-dir", directory(name)])
                #expect(result.status == 0, "\(name): \(result.stderr)")
            }

            // The model, with reference statistics computed from the training rows where fleetctl runs.
            let (train, test) = try digitsRows()
            let trainPath = fleet.root + "/train.csv"
            try writeCSV(train, to: trainPath)
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "1",
                "--variant", "fp32", "--file", Self.model, "--reference-data", trainPath, "--json",
            ])
            let ready = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                for name in names {
                    let output = try await agent(fleet, ["drift", "--data-dir", directory(name), "--json"])
                    guard output.status == 0 else { return false }
                    let drift = try JSONDecoder().decode(AgentDrift.self, from: Data(output.stdout.utf8))
                    guard drift.references == ["digits-mlp v1"] else { return false }
                }
                return true
            }
            try #require(ready, "every agent installed v1 and holds its reference statistics")

            // Each agent infers on 100 of the test rows; the ap agents see inverted images (16 - x).
            let started = ContinuousClock.now
            for (index, name) in names.enumerated() {
                let rows = (0..<100).map { test[(index * 45 + $0) % test.count] }
                let path = fleet.root + "/rows-\(name).csv"
                try writeCSV(shifted.contains(name) ? rows.map { ($0.0.map { 16 - $0 }, $0.1) } : rows, to: path)
                let result = try await agent(fleet, ["infer", "--data-dir", directory(name), path, "--json"])
                #expect(result.status == 0, "\(name): \(result.stderr)")
                let output = try JSONDecoder().decode(InferOutput.self, from: Data(result.stdout.utf8))
                #expect(output.predictions.count == 100 && output.observed && output.via == "daemon", "\(name)")
                if !shifted.contains(name) {
                    let correct = zip(output.predictions, rows.map(\.1)).filter { $0 == $1 }.count
                    #expect(correct >= 90, "\(name): \(correct)/100 correct")
                }
            }
            var devices: [DriftRow] = []
            let reported = try await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
                devices = try await JSONDecoder().decode(
                    [DriftRow].self,
                    from: Data(
                        fleet.fleetctl(["drift", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                    )
                )
                return devices.count == 10 && devices.allSatisfy { $0.samples == 100 }
            }
            let elapsed = ContinuousClock.now - started
            #expect(reported, "all 10 devices reported: \(devices.map { "\($0.name ?? "?")=\($0.samples)" })")
            #expect(Set(devices.filter(\.drifted).compactMap(\.name)) == shifted)
            for row in devices where shifted.contains(row.name ?? "") {
                #expect(
                    row.region == "ap" && row.psi > 0.2 && row.worstFeature?.hasPrefix("p") == true,
                    "named as in the CSV"
                )
            }
            let regionRows = try await JSONDecoder().decode(
                [DriftRow].self,
                from: Data(
                    fleet.fleetctl([
                        "drift", "digits-mlp", "--by", "region", "--data-dir", fleet.coordinatorDirectory, "--json",
                    ]).utf8
                )
            )
            #expect(Set(regionRows.filter(\.drifted).compactMap(\.region)) == ["ap"])
            #expect(Set(regionRows.map(\.region)) == ["ap", "eu", "us"])
            // The coordinator exports each region's drift as assessed at its latest report: the same PSI.
            let scrape = try await PrometheusScrape.fetch(PrometheusScrape.coordinatorAddress(fleet))
            for row in regionRows {
                let exported = scrape.value(
                    "tinyfleet_drift_psi",
                    ["model": "digits-mlp", "region": row.region ?? "-"]
                )
                #expect(
                    exported.map { abs($0 - row.psi) < 0.001 } == true,
                    "tinyfleet_drift_psi{region=\(row.region ?? "-")} \(exported ?? -1) vs fleetctl \(row.psi)"
                )
            }
            let alerts = try await fleet.events().filter { $0.kind == "drift_alert" && $0.device != nil }
            #expect(alerts.count == 3)
            let wire = devices.reduce(0) { $0 + $1.wireBytes }
            let raw = devices.reduce(0) { $0 + $1.rawInputBytes }
            let reports = devices.reduce(0) { $0 + $1.reports }
            print(
                "drift: flagged \(devices.filter(\.drifted).compactMap(\.name).sorted()) after \(elapsed) (report interval 1 s); "
                    + "\(reports) reports, \(wire) bytes on the wire vs \(raw) bytes of raw float32 inputs "
                    + "(\(String(format: "%.1f", Double(raw) / Double(max(wire, 1))))x, "
                    + "\(String(format: "%.2f", 100 * Double(wire) / Double(max(raw, 1))))%)"
            )

            // Samples: 4 owners consent, 6 do not (their samples are refused on the device, nothing is queued).
            let consenting = ["eu-1", "eu-2", "us-1", "ap-1"]
            let samplePath = fleet.root + "/samples.csv"
            try writeCSV(Array(test.prefix(20)), to: samplePath)
            for name in consenting {
                let result = try await agent(
                    fleet,
                    ["consent", "grant", "samples", "--until", "2099-06-30", "--data-dir", directory(name)]
                )
                #expect(result.status == 0, "\(name): \(result.stderr)")
            }
            for name in names {
                let result = try await agent(
                    fleet,
                    ["samples", "add", "--data-dir", directory(name), samplePath, "--json"]
                )
                if consenting.contains(name) {
                    #expect(result.status == 0, "\(name): \(result.stderr)")
                } else {
                    #expect(result.status != 0 && result.stderr.contains("no-consent"), "\(name) refused locally")
                }
            }
            func holdings() async throws -> [Holding] {
                try await JSONDecoder().decode(
                    [Holding].self,
                    from: Data(fleet.fleetctl(["samples", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
                )
            }
            func queued(_ name: String) async throws -> Int {
                let output = try await agent(fleet, ["samples", "list", "--data-dir", directory(name), "--json"])
                return try JSONDecoder().decode(AgentSamples.self, from: Data(output.stdout.utf8)).samples
            }
            let uploaded = try await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
                let held = try await holdings()
                return Set(held.map(\.name)) == Set(consenting) && held.allSatisfy { $0.samples == 20 }
            }
            let held = try await holdings().map { "\($0.name)=\($0.samples)" }
            #expect(uploaded, "the coordinator holds samples from exactly the 4: \(held)")
            #expect(try await consenting.allSatisfy { try await queued($0) == 0 }, "uploaded queues are empty")
            let export = try await fleet.fleetctl([
                "samples", "export", "digits-mlp", "--format", "csv", "--data-dir", fleet.coordinatorDirectory,
            ])
            #expect(export.split(separator: "\n").count == 1 + 80)

            // eu-1 revokes: its queue is purged at once, and the coordinator erases what it holds.
            try writeCSV(Array(test.prefix(5)), to: samplePath)
            await #expect(
                try agent(fleet, ["samples", "add", "--data-dir", directory("eu-1"), samplePath]).status == 0
            )
            let revoked = try await agent(fleet, ["consent", "revoke", "samples", "--data-dir", directory("eu-1")])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            await #expect(try queued("eu-1") == 0)
            let erased = try await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
                try await Set(holdings().map(\.name)) == Set(consenting.dropFirst())
            }
            #expect(erased, "eu-1's samples are gone on the coordinator")
            // 20, or 25 when the 5 new ones were uploaded before the revocation: either way all of them.
            let erasure = try await fleet.events().first { $0.kind == "samples_erased" }?.detail ?? ""
            #expect(erasure.hasPrefix("20 sample(s)") || erasure.hasPrefix("25 sample(s)"), "\(erasure)")
            await #expect(
                try agent(fleet, ["samples", "add", "--data-dir", directory("eu-1"), samplePath]).status != 0
            )
        }
    }
}
