import FleetClient
import FleetTrust
import FleetWire
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Clients that lie or babble against a real coordinator process: each is refused with its own error code,
/// only its own connection closes, and the coordinator keeps serving a real agent meanwhile.
extension EndToEnd {
    @Suite(.serialized) struct HostileClientTests {
        @Test func forgedReplayedUnknownAndGarbageAreRefusedWhileOthersAreServed() async throws {
            let fleet = try Fleet("hostile")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("honest", token: token.token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["honest"] })
            let honest = try #require(try await fleet.devices().first)
            let address = CoordinatorAddress(host: "127.0.0.1", port: fleet.port)

            // A forged key: the honest device's id, signed by another key.
            let forged = await refusal(address) { connection, nonce in
                _ = try await connection.authenticate(deviceID: honest.id, identity: .generate(), nonce: nonce)
            }
            #expect(forged == .badSignature)

            // A replayed signature: made for another connection's nonce.
            let replayed = await refusal(address) { connection, _ in
                let identity = DeviceIdentity.generate()
                let oldNonce = [UInt8](repeating: 7, count: 32)
                let signature = try identity.sign(.authenticate(nonce: oldNonce, deviceID: honest.id))
                _ = try await connection.request(
                    .authenticate(Authenticate(deviceID: honest.id, nonce: oldNonce, signature: signature))
                )
            }
            #expect(replayed == .replayedNonce)

            // An unknown device.
            let unknown = await refusal(address) { connection, nonce in
                _ = try await connection.authenticate(
                    deviceID: "d-0000000000000000",
                    identity: .generate(),
                    nonce: nonce
                )
            }
            #expect(unknown == .unknownDevice)

            // A token that does not exist.
            let badToken = await refusal(address) { connection, nonce in
                _ = try await connection.enrol(
                    token: "tft_nope",
                    identity: .generate(),
                    nonce: nonce,
                    name: "intruder",
                    labels: [:],
                    capabilities: [:],
                    software: "test"
                )
            }
            #expect(badToken == .tokenUnknown)

            // A wrong admin credential.
            let admin = await refusal(address, role: .admin) { connection, nonce in
                try await connection.authenticateAdmin(credential: .generate(), nonce: nonce)
            }
            #expect(admin == .adminDenied)

            // Garbage bytes, an oversized length and an unknown type on raw sockets.
            #expect(
                try await rawExchange(port: fleet.port, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8)) == .frameTooLarge
            )
            #expect(try await rawExchange(port: fleet.port, bytes: [0xFF, 0xFF, 0xFF, 0xFF]) == .frameTooLarge)
            #expect(try await rawExchange(port: fleet.port, bytes: [0, 0, 0, 1, 0xEE]) == .unknownMessageType)
            #expect(try await rawExchange(port: fleet.port, bytes: [0, 0, 0, 2, 0x10, 0x00]) == .malformedMessage)

            // The coordinator still serves: the honest agent stays online and nothing was stored for the intruders.
            try await Task.sleep(for: .seconds(1))
            #expect(fleet.coordinator?.isRunning == true)
            #expect(try await fleet.onlineNames() == ["honest"])
            #expect(try await fleet.devices().count == 1)
            // One event per kind of refusal from this source in this minute; the rest are coalesced (SPEC 6.7).
            let refusals = try await fleet.events().filter { $0.kind.hasSuffix("_refused") }.map(\.kind)
            #expect(refusals.sorted() == ["admin_refused", "auth_refused", "enrol_refused"])
            await fleet.stopAll()
        }

        /// Runs one handshake step and returns the code the coordinator refused it with.
        private func refusal(
            _ address: CoordinatorAddress,
            role: PeerRole = .device,
            _ step: (inout FleetConnection, [UInt8]) async throws -> Void
        ) async -> ErrorCode? {
            do {
                try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                    let accept = try await connection.hello(role: role, software: "hostile-test")
                    try await step(&connection, accept.nonce)
                    // The coordinator must close the connection after a refusal.
                    _ = try await connection.next()
                }
                return nil
            } catch let error as FleetClientError {
                return error.refusal?.code
            } catch {
                return nil
            }
        }

        /// Sends raw bytes and returns the error code of the coordinator's answer (it must then close).
        private func rawExchange(port: Int, bytes: [UInt8]) async throws -> ErrorCode? {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(FrameDecoder(maximumFrameLength: 1 << 20))
                        )
                        return try NIOAsyncChannel<Frame, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: bytes))
                var code: ErrorCode?
                for try await frame in inbound {
                    if case .error(let error) = try Message(frame: frame) { code = error.code }
                }
                return code  // the loop ends only when the coordinator closed the connection
            }
        }
    }
}
