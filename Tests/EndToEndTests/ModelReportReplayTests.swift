import FleetClient
import FleetTrust
import FleetWire
import Foundation
import Testing

/// A model report sent again on a new connection, as an agent does when the `ack` was lost with the connection,
/// is logged once by the real coordinator; the device's next report is logged too.
extension EndToEnd {
    @Suite(.serialized) struct ModelReportReplayTests {
        @Test func aReportSentAgainAfterALostAckIsLoggedOnce() async throws {
            let fleet = try Fleet("report-replay")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let address = CoordinatorAddress(host: "127.0.0.1", port: fleet.port)
            let identity = DeviceIdentity.generate()
            let deviceID = DeviceIdentity.deviceID(forPublicKey: identity.publicKey)
            func report(requestID: UInt64, reportID: UInt64) -> Message {
                .modelReport(
                    ModelReport(
                        requestID: requestID,
                        model: "digits-mlp",
                        version: 2,
                        variant: "fp32",
                        outcome: .refused,
                        code: "rollback",
                        detail: "report \(reportID)",
                        encoding: .full,
                        wireBytes: 0,
                        resumedFrom: 0,
                        reportID: reportID
                    )
                )
            }

            // First connection: enrol, send report 1; the connection ends (the agent would not know it was acked).
            let first = try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                let accept = try await connection.hello(role: .device, software: "replay-test")
                _ = try await connection.enrol(
                    token: token.token,
                    identity: identity,
                    nonce: accept.nonce,
                    name: "replayer",
                    labels: [:],
                    capabilities: [:],
                    software: "replay-test"
                )
                return try await Self.answer(to: report(requestID: 1, reportID: 1), on: &connection)
            }
            // Next connection: report 1 again (new request id, same report id), then report 2.
            let (again, next) = try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                let accept = try await connection.hello(role: .device, software: "replay-test")
                _ = try await connection.authenticate(deviceID: deviceID, identity: identity, nonce: accept.nonce)
                let again = try await Self.answer(to: report(requestID: 1, reportID: 1), on: &connection)
                let next = try await Self.answer(to: report(requestID: 2, reportID: 2), on: &connection)
                return (again, next)
            }
            #expect(first == .ack(Ack(requestID: 1)))
            #expect(again == .ack(Ack(requestID: 1)), "a repeat is acknowledged, so the agent stops sending it")
            #expect(next == .ack(Ack(requestID: 2)))
            let refusals = try await fleet.events().filter { $0.device == deviceID && $0.kind == "install_refused" }
            #expect(
                refusals.map(\.detail) == [
                    "digits-mlp v2 fp32: rollback: report 1", "digits-mlp v2 fp32: rollback: report 2",
                ]
            )
            await fleet.stopAll()
        }

        /// Sends `request` and returns the `ack` or `error` carrying its id, skipping anything else.
        static func answer(to request: Message, on connection: inout FleetConnection) async throws -> Message {
            guard case .modelReport(let report) = request else { throw FleetClientError.unexpected(request) }
            try await connection.send(request)
            while let message = try await connection.next() {
                switch message {
                case .ack(let ack) where ack.requestID == report.requestID: return message
                case .error(let error) where error.requestID == report.requestID: return message
                default: continue
                }
            }
            throw FleetClientError.closed
        }
    }
}
