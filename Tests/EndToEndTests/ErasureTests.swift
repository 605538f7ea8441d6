import FleetDelta
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// "Erased on both sides" with the real executables: after `fleet-agent consent revoke samples`, no file of either
/// data directory holds the erased rows, neither as bytes nor inside any zlib stream, within 5 s.
extension EndToEnd {
    @Suite(.serialized) struct ErasureTests {
        static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors").path

        struct Holding: Decodable {
            var name: String
            var samples: Int
        }

        struct Status: Decodable {
            struct Installed: Decodable { var model: String }
            var installed: [Installed]
        }

        /// `count` rows of 64 random pixels in quarter steps (exact in Float, printed back as written): a row's
        /// first 16 values (96 random bits) occur nowhere else.
        static func distinctiveRows(_ count: Int) -> [[String]] {
            (0..<count).map { _ in (0..<64).map { _ in "\(Float(Int.random(in: 0..<64)) / 4 + 0.25)" } }
        }

        /// What identifies a row wherever it is kept: its first 16 values as the agent and the coordinator print them.
        static func marker(_ row: [String]) -> [UInt8] { Array(row.prefix(16).joined(separator: ",").utf8) }

        static func writeCSV(_ rows: [[String]], to path: String) throws {
            let header = (0..<64).map { "p\($0)" }.joined(separator: ",")
            try ([header] + rows.map { $0.joined(separator: ",") }).joined(separator: "\n").appending("\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }

        /// Every place under `directories` where a marker occurs: in a file's bytes, or in what any zlib stream in
        /// it (a 0x78 byte followed by one of the four standard second header bytes) inflates to.
        static func copies(of markers: [[UInt8]], under directories: [String]) throws -> [String] {
            var found: [String] = []
            for directory in directories {
                guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
                for case let relative as String in walker {
                    let path = directory + "/" + relative
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                        !isDirectory.boolValue,
                        let data = FileManager.default.contents(atPath: path)
                    else { continue }
                    let bytes = [UInt8](data)
                    for marker in markers where contains(bytes, marker) { found.append("\(path): raw") }
                    for offset in bytes.indices.dropLast()
                    where bytes[offset] == 0x78
                        && [0x01, 0x5e, 0x9c, 0xda].contains(bytes[offset + 1])
                    {
                        // A sample batch fits in a database page or two; look no further than 64 KiB.
                        let stream = Array(bytes[offset..<min(bytes.count, offset + (1 << 16))])
                        let inflated = Zlib.inflatePrefix(stream, maximumSize: 1 << 20)
                        for marker in markers where contains(inflated, marker) {
                            found.append("\(path): zlib stream at \(offset)")
                        }
                    }
                }
            }
            return found
        }

        static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            guard let first = needle.first, haystack.count >= needle.count else { return false }
            return haystack.withUnsafeBytes { hay in
                needle.withUnsafeBytes { pattern in
                    guard let base = hay.baseAddress, let wanted = pattern.baseAddress else { return false }
                    var offset = 0
                    let last = hay.count - needle.count
                    while offset <= last {
                        guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                        let index = base.distance(to: UnsafeRawPointer(hit))
                        if memcmp(base + index, wanted, needle.count) == 0 { return true }
                        offset = index + 1
                    }
                    return false
                }
            }
        }

        @Test func revokedSamplesLeaveNoCopyInEitherDataDirectory() async throws {
            try await Fleet("erasure").run(scenario)
        }

        func scenario(_ fleet: Fleet) async throws {
            try await fleet.startCoordinator()
            try fleet.startAgent("cam", token: try await fleet.createToken().token)
            let agentDirectory = fleet.root + "/agent-cam"
            func agent(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
                try await runCommand("fleet-agent", arguments + ["--data-dir", agentDirectory])
            }
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "1",
                "--variant", "fp32", "--file", Self.model,
            ])
            let installed = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                let output = try await agent(["status", "--json"])
                guard output.status == 0 else { return false }
                return try JSONDecoder().decode(Status.self, from: Data(output.stdout.utf8)).installed.count == 1
            }
            try #require(installed, "the agent installed the model: \(fleet.agents["cam"]?.log.suffix(2000) ?? "")")
            await #expect(try agent(["consent", "grant", "samples"]).status == 0)
            func held() async throws -> Int {
                let output = try await fleet.fleetctl(["samples", "--data-dir", fleet.coordinatorDirectory, "--json"])
                return try JSONDecoder().decode([Holding].self, from: Data(output.utf8)).reduce(0) { $0 + $1.samples }
            }

            // 12 rows reach the coordinator; 4 more are queued on the device when the owner revokes.
            let uploaded = Self.distinctiveRows(12)
            let queued = Self.distinctiveRows(4)
            let markers = (uploaded + queued).map(Self.marker)
            let csv = fleet.root + "/samples.csv"
            try Self.writeCSV(uploaded, to: csv)
            await #expect(try agent(["samples", "add", csv, "--feature-scale", "1"]).status == 0)
            let stored = try await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
                try await held() == 12
            }
            try #require(stored, "the coordinator holds the 12 samples")
            let before = try Self.copies(of: markers, under: [fleet.coordinatorDirectory, agentDirectory])
            #expect(before.contains { $0.contains("coordinator.sqlite") }, "the scan finds stored samples: \(before)")
            try Self.writeCSV(queued, to: csv)
            await #expect(try agent(["samples", "add", csv, "--feature-scale", "1"]).status == 0)

            let revoked = try await agent(["consent", "revoke", "samples"])
            try #require(revoked.status == 0, "\(revoked.stderr)")
            let revokedAt = ContinuousClock.now
            var left: [String] = []
            let erased = try await eventually(timeout: .seconds(5), every: .milliseconds(100)) {
                left = try Self.copies(of: markers, under: [fleet.coordinatorDirectory, agentDirectory])
                let heldNow = try await held()
                return left.isEmpty && heldNow == 0
            }
            #expect(erased, "no copy of the erased rows 5 s after the revocation: \(left)")
            print("erasure: no copy left on either side \(ContinuousClock.now - revokedAt) after the revocation")
            let events = try await fleet.events().filter { $0.kind == "samples_erased" }
            #expect(events.count == 1, "\(events.map(\.detail))")
        }
    }
}
