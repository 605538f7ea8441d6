import Foundation
import Testing

/// `fleetctl model push` with real processes: only a file that loads is published (or an explicitly opaque one
/// under a name of its own), and a failed push publishes nothing.
extension EndToEnd {
    @Suite(.serialized) struct ModelPushTests {
        struct Summary: Decodable {
            var name: String
            var latestVersion: Int
            var versions: [Int]
        }

        static let fixtures = ModelDeliveryTests.models

        func push(
            _ fleet: Fleet,
            _ name: String,
            version: Int,
            file: String,
            extra: [String] = []
        ) async throws -> (
            status: Int32, stdout: String, stderr: String
        ) {
            try await runCommand(
                "fleetctl",
                [
                    "model", "push", name, "--data-dir", fleet.coordinatorDirectory, "--version", "\(version)",
                    "--variant", "fp32", "--file", file,
                ] + extra
            )
        }

        func models(_ fleet: Fleet) async throws -> [Summary] {
            try await JSONDecoder().decode(
                [Summary].self,
                from: Data(fleet.fleetctl(["models", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
            )
        }

        func installedBytes(_ fleet: Fleet, _ agent: String, _ model: String) -> Data? {
            FileManager.default.contents(atPath: "\(fleet.root)/agent-\(agent)/models/\(model)/current.safetensors")
        }

        @Test func onlyFilesThatLoadArePublished() async throws {
            let fleet = try Fleet("push-check")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("a", token: token.token)
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["a"] })
            let v1Path = "\(Self.fixtures)/digits-mlp-v1-fp32.safetensors"
            let v1 = try Data(contentsOf: URL(fileURLWithPath: v1Path))
            await #expect(try push(fleet, "digits-mlp", version: 1, file: v1Path).status == 0)
            #expect(try await eventually(timeout: .seconds(30)) { installedBytes(fleet, "a", "digits-mlp") == v1 })

            // The 24-byte text file, and a real model cut short: refused, nothing published.
            let text = fleet.root + "/notamodel.txt"
            try Data("this is not a model!!!\n\n".utf8).write(to: URL(fileURLWithPath: text))
            let cut = fleet.root + "/cut.safetensors"
            try v1.dropLast(8).write(to: URL(fileURLWithPath: cut))
            for file in [text, cut] {
                let refused = try await push(fleet, "digits-mlp", version: 2, file: file)
                #expect(refused.status != 0, "\(file) refused")
                #expect(refused.stderr.contains("not a loadable safetensors file"), "\(refused.stderr)")
                #expect(refused.stderr.contains("--format opaque"), "the error says what to do: \(refused.stderr)")
            }
            // An explicitly opaque file never replaces the safetensors model.
            let opaque = try await push(fleet, "digits-mlp", version: 2, file: text, extra: ["--format", "opaque"])
            #expect(opaque.status != 0)
            #expect(opaque.stderr.contains("cannot replace"), "\(opaque.stderr)")
            await #expect(try models(fleet).first { $0.name == "digits-mlp" }?.versions == [1], "nothing was published")
            let uploads =
                (try? FileManager.default.contentsOfDirectory(atPath: fleet.coordinatorDirectory + "/uploads"))
            #expect(uploads?.isEmpty ?? true, "refused uploads are deleted: \(uploads ?? [])")

            // Under its own name an opaque file is published and delivered as bytes.
            await #expect(
                try push(fleet, "kws-onnx", version: 1, file: text, extra: ["--format", "opaque"]).status == 0
            )
            let textBytes = try Data(contentsOf: URL(fileURLWithPath: text))
            #expect(try await eventually(timeout: .seconds(30)) { installedBytes(fleet, "a", "kws-onnx") == textBytes })
            #expect(installedBytes(fleet, "a", "digits-mlp") == v1, "the working model was never replaced")
            await fleet.stopAll()
        }

        /// Rows for `--reference-data`: the digits layout (p0…p63, label), values 0–16.
        func writeReferenceRows(to path: String) throws {
            var lines = [((0..<64).map { "p\($0)" } + ["label"]).joined(separator: ",")]
            for row in 0..<40 {
                lines.append(
                    ((0..<64).map { String(($0 * 7 + row * 3) % 17) } + [String(row % 10)]).joined(separator: ",")
                )
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }

        @Test func aFailedPushPublishesNothingAndTheRetrySucceeds() async throws {
            let fleet = try Fleet("push-atomic")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let v1 = "\(Self.fixtures)/digits-mlp-v1-fp32.safetensors"
            let bad = fleet.root + "/bad.csv"
            try "a,b,label\n1,2,3\n".write(toFile: bad, atomically: true, encoding: .utf8)
            for reference in [bad, fleet.root + "/missing.csv"] {
                let failed = try await push(
                    fleet,
                    "digits-mlp",
                    version: 1,
                    file: v1,
                    extra: ["--reference-data", reference]
                )
                #expect(failed.status != 0, "a bad --reference-data fails the push")
                await #expect(try models(fleet).isEmpty, "and nothing is published: \(failed.stderr)")
            }

            let good = fleet.root + "/train.csv"
            try writeReferenceRows(to: good)
            let retried = try await push(fleet, "digits-mlp", version: 1, file: v1, extra: ["--reference-data", good])
            #expect(retried.status == 0, "the retry is not refused as a duplicate: \(retried.stderr)")
            #expect(retried.stderr.contains("reference statistics for digits-mlp v1"), "\(retried.stderr)")
            await #expect(try models(fleet).first?.versions == [1])
            // The statistics went in with the version: drift has a reference (and no report yet).
            let drift = try await runCommand(
                "fleetctl",
                ["drift", "digits-mlp", "--data-dir", fleet.coordinatorDirectory]
            )
            #expect(drift.status == 0 && !drift.stderr.contains("no reference statistics"), "\(drift.stderr)")
            await fleet.stopAll()
        }
    }
}
