import Foundation
import Testing

/// The device link over TLS 1.3 with a certificate made by the test: the agent verifies it against the
/// certificate file (pinning it), and fleetctl finds it through the coordinator's data directory.
extension EndToEnd {
    @Suite(.serialized) struct TLSTests {
        @Test func agentEnrolsAndHeartbeatsOverTLS() async throws {
            let fleet = try Fleet("tls")
            defer { fleet.cleanUp() }
            let (certificatePath, keyPath) = try makeSelfSignedCertificate(in: fleet.root)
            fleet.extraCoordinatorArguments = ["--tls-cert", certificatePath, "--tls-key", keyPath]
            try await fleet.startCoordinator()

            let token = try await fleet.createToken()
            try fleet.startAgent("secure", token: token.token, extra: ["--ca-file", certificatePath])
            let online = try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["secure"] }
            #expect(online, "agent online over TLS: \(fleet.agents["secure"]?.log ?? "")")

            // An agent that does not trust the certificate is refused by its own TLS check and never enrols.
            let other = try await fleet.createToken()
            let untrusting = try fleet.startAgent(
                "untrusting",
                token: other.token,
                extra: ["--ca-file", try otherCertificate(in: fleet.root)]
            )
            try await Task.sleep(for: .seconds(2))
            #expect(try await fleet.devices().count == 1)
            await untrusting.terminate()
            #expect(untrusting.log.contains("TLS") || untrusting.log.lowercased().contains("certificate"))
            await fleet.stopAll()
        }

        private func otherCertificate(in directory: String) throws -> String {
            try makeSelfSignedCertificate(in: directory, name: "stranger").0
        }
    }
}
