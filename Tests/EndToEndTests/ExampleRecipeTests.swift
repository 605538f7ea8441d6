import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The README's recipes are the scripts in Examples/, and they work as written: each runs here with the
/// programs of this build first in PATH, on a free port, and must end with status 0 having printed what it
/// promises.
extension EndToEnd {
    @Suite(.serialized) struct ExampleRecipeTests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        /// Runs `Examples/NAME` to completion; returns its status and output (stdout and stderr together).
        func recipe(_ name: String) async throws -> (status: Int32, output: String) {
            let work = try makeTemporaryDirectory("tinyfleet-recipe")
            defer { try? FileManager.default.removeItem(atPath: work) }
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = Binaries.directory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["WORK"] = work
            environment["PORT"] = String(try freePort())
            let script = Self.root.appendingPathComponent("Examples/\(name)").path
            let result = try await offThePool { [environment] in try runScript(script, environment: environment) }
            var logs = ""
            if result.status != 0 {
                for file in (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
                where file.hasSuffix(".log") {
                    logs +=
                        "\n--- \(file)\n" + ((try? String(contentsOfFile: work + "/" + file, encoding: .utf8)) ?? "")
                }
            }
            return (result.status, result.output + logs)
        }

        @Test func aFirstFleetWithTLS() async throws {
            let result = try await recipe("first-fleet-tls.sh")
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("ok: both agents online over TLS"))
            // The closing `fleetctl devices`: two device rows, online, with the token's label.
            let rows = result.output.split(separator: "\n").filter { $0.hasPrefix("d-") }
            #expect(rows.count == 2, "\(result.output)")
            #expect(rows.allSatisfy { $0.contains(" online ") && $0.contains("site=lab") }, "\(result.output)")
        }

        @Test func aFirstFederatedRound() async throws {
            let result = try await recipe("first-round.sh")
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("ok: both devices run digits-mlp v1"))
            // `fleetctl rounds` lists three published rounds.
            let published = result.output.split(separator: "\n").filter { $0.contains("published") }
            #expect(published.count >= 3, "\(result.output)")
        }

        @Test func aFirstDriftAlert() async throws {
            let result = try await recipe("first-drift-alert.sh")
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("ok: a drift alert"))
            #expect(result.output.contains("drift_alert"), "\(result.output)")
        }

        /// A port nobody listens on now.
        func freePort() throws -> Int { try freeLoopbackPort() }
    }
}
