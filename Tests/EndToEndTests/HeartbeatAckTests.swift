import FleetClient
import FleetTrust
import FleetWire
import Foundation
import Testing

/// SPEC.md 9.1: every heartbeat gets exactly one heartbeatAck, written while the heartbeat is read, so acks come
/// back in the heartbeats' order; answers to requests (with ids) may come between them.
extension EndToEnd {
    @Suite(.serialized) struct HeartbeatAckTests {
        @Test func pipelinedHeartbeatsGetOneAckEachBesideTheRequestsAnswers() async throws {
            let fleet = try Fleet("heartbeat-acks")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let address = CoordinatorAddress(host: "127.0.0.1", port: fleet.port)
            let heartbeats = 300
            let (acks, answered) = try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                let accept = try await connection.hello(role: .device, software: "heartbeat-test")
                _ = try await connection.enrol(
                    token: token.token,
                    identity: .generate(),
                    nonce: accept.nonce,
                    name: "pinger",
                    labels: [:],
                    capabilities: [:],
                    software: "heartbeat-test"
                )
                // 300 heartbeats without waiting, with a stateReport (answered by desiredState and ack) every 30th.
                var reports: Set<UInt64> = []
                for index in 0..<heartbeats {
                    try await connection.send(.heartbeat)
                    if index % 30 == 29 {
                        let id = UInt64(reports.count + 1)
                        reports.insert(id)
                        try await connection.send(
                            .stateReport(
                                StateReport(
                                    requestID: id,
                                    software: "heartbeat-test",
                                    capabilities: [:],
                                    installedModels: []
                                )
                            )
                        )
                    }
                }
                var acks = 0
                var answered: Set<UInt64> = []
                while acks < heartbeats || answered != reports {
                    let message = try await connection.expectNext()
                    switch message {
                    case .heartbeatAck: acks += 1
                    case .ack(let ack): answered.insert(ack.requestID)
                    case .desiredState: continue
                    default: Issue.record("unexpected \(message.type)")
                    }
                }
                // Not more than one per heartbeat: an extra ack would have been written before the answer to a
                // request sent after all of them.
                try await connection.send(
                    .stateReport(
                        StateReport(requestID: 99, software: "heartbeat-test", capabilities: [:], installedModels: [])
                    )
                )
                var last = try await connection.expectNext()
                if case .desiredState = last { last = try await connection.expectNext() }
                #expect(last == .ack(Ack(requestID: 99)))
                return (acks, answered)
            }
            #expect(acks == heartbeats)
            #expect(answered == Set(1...10))
            await fleet.stopAll()
        }
    }
}
