import Foundation
import Testing

/// The README's first command: `fleetctl demo` runs the whole product on loopback (enrolment, variants and
/// deltas, federated rounds, a clean stop) and ends well.
extension EndToEnd {
    @Suite(.serialized) struct DemoTests {
        @Test func theDemoRunsToTheEnd() async throws {
            let directory = try makeTemporaryDirectory("tinyfleet-demo-test")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await offThePool {
                try runCommandBlocking("fleetctl", ["demo", "--data-dir", directory + "/demo"])
            }
            #expect(result.status == 0, "\(result.stderr)\n\(result.stdout.suffix(3000))")
            #expect(result.stdout.contains("demo finished"), "\(result.stdout.suffix(3000))")
            for event in ["model_installed", "round_published", "goodbye"] {
                #expect(result.stdout.contains(event), "the demo shows \(event)")
            }
            #expect(result.stdout.contains("(delta, "), "v2 reaches the devices as deltas")
        }
    }
}
