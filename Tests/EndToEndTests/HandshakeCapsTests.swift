import FleetClient
import FleetTrust
import FleetWire
import Foundation
import NIOCore
import NIOPosix
import Testing

/// What unauthenticated clients can make a real coordinator hold or write (Protocol/SPEC.md, 6.6 and 6.7):
/// frames stay within 64 KiB until `welcome`, connections in their handshake and their bytes are capped
/// (beyond: `busy`), and refused handshakes are rate-limited and coalesced per source address.
extension EndToEnd {
    @Suite(.serialized) struct HandshakeCapsTests {
        @Test func beforeWelcomeAFrameAbove64KiBIsRefusedEvenWhenTheNegotiatedLimitIsLarger() async throws {
            let fleet = try Fleet("prewelcome")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            for announced in [65_537, (1 << 20) - 1] {
                let log = AnswerLog()
                let channel = try await RawClients.open(port: fleet.port, sending: RawClients.hello(), log: log)
                #expect(try await eventually(timeout: .seconds(5)) { !log.all.isEmpty })
                guard case .helloAccept(let accept) = log.all.first else {
                    Issue.record("expected helloAccept, got \(log.all)")
                    continue
                }
                #expect(accept.maximumFrameLength == 1 << 20, "the negotiated limit, for after welcome")
                try await channel.writeAndFlush(RawClients.partialFrame(length: announced))
                #expect(try await eventually(timeout: .seconds(5)) { log.errors == [.frameTooLarge] })
                try await channel.closeFuture.get()
            }
            await fleet.stopAll()
        }

        @Test func thousandsOfClientsHoldingPartialFramesLeaveTheCoordinatorsMemoryBounded() async throws {
            let fleet = try Fleet("partialframes")
            defer { fleet.cleanUp() }
            // A long handshake timeout, so that no client leaves before all have come, however slow the machine.
            fleet.extraCoordinatorArguments = ["--handshake-timeout", "300s"]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("honest", token: token.token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["honest"] })
            let coordinator = try #require(fleet.coordinator)
            let before = try ResidentMemory(pid: coordinator.pid)

            // Each client: hello, then a frame one byte short of the 64 KiB allowed before welcome.
            var attack = RawClients.hello()
            var partial = RawClients.partialFrame(length: Frame.handshakeMaximumLength)
            attack.writeBuffer(&partial)
            let clients = 4000
            let log = AnswerLog()
            let channels = try await RawClients.openMany(clients, port: fleet.port, sending: attack, log: log)
            // Let the coordinator read what it will read, answer and close.
            _ = try await eventually(timeout: .seconds(30)) { log.busy.count >= clients - 1024 }
            try await Task.sleep(for: .seconds(2))
            let during = try ResidentMemory(pid: coordinator.pid)
            let growth = during.peak - before.current
            print(
                "coordinator RSS \(before.current >> 20) MiB before, peak \(during.peak >> 20) MiB with \(clients) "
                    + "clients each holding a 64 KiB partial frame; \(log.busy.count) answered busy"
            )
            // Unbounded, 4000 × 64 KiB is at least 250 MiB of frames alone (and the 1 MiB limit of before, 4 GB);
            // with the caps (1024 connections, 16 MiB) the peak grew by 93–188 MiB over runs here, the rest being
            // the 4000 connections' own buffers and the allocator's slack.
            #expect(growth < 240 << 20, "peak RSS grew by \(growth >> 20) MiB")
            #expect(log.busy.count >= clients - 1024, "beyond the connection cap every client is answered busy")
            #expect(log.busy.allSatisfy { $0.retryAfterMilliseconds == 1000 })
            #expect(try await fleet.onlineNames() == ["honest"], "welcomed devices are not affected")

            for channel in channels { channel.close(promise: nil) }
            // Once they are gone, new handshakes are served again.
            #expect(try await eventually(timeout: .seconds(15)) { (try? await fleet.createToken()) != nil })
            #expect(coordinator.isRunning)
            await fleet.stopAll()
        }

        @Test func thousandsOfSilentConnectionsBeyondTheCapAreAnsweredBusy() async throws {
            let fleet = try Fleet("silent")
            defer { fleet.cleanUp() }
            fleet.extraCoordinatorArguments = [
                "--max-handshakes", "300", "--busy-retry-after", "2500ms", "--handshake-timeout", "300s",
            ]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("honest", token: token.token)
            #expect(try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["honest"] })

            let clients = 2000
            let log = AnswerLog()
            let channels = try await RawClients.openMany(clients, port: fleet.port, sending: nil, log: log)
            #expect(try await eventually(timeout: .seconds(30)) { log.busy.count >= clients - 300 })
            // The 300 admitted ones are still waiting for hello (their handshake timeout is 300 s).
            try await Task.sleep(for: .seconds(1))
            #expect(log.busy.count == clients - 300)
            #expect(log.busy.allSatisfy { $0.retryAfterMilliseconds == 2500 })
            #expect(log.errors.isEmpty)
            #expect(try await fleet.onlineNames() == ["honest"])

            for channel in channels { channel.close(promise: nil) }
            #expect(try await eventually(timeout: .seconds(15)) { (try? await fleet.createToken()) != nil })
            await fleet.stopAll()
        }

        @Test func refusedEnrolmentsFromOneSourceAreRateLimitedAndCoalesced() async throws {
            let fleet = try Fleet("refusals")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let identity = DeviceIdentity.generate()
            let log = AnswerLog()
            let attempts = 2000
            let started = ContinuousClock.now
            for _ in 0..<attempts {
                try await enrolWithUnknownToken(port: fleet.port, source: "127.0.0.2", identity: identity, log: log)
            }
            print("\(attempts) enrolment attempts in \(ContinuousClock.now - started)")
            // 20 refusals per source per minute (the default), then busy until the minute ends.
            #expect(log.errors == Array(repeating: .tokenUnknown, count: 20))
            #expect(log.busy.count == attempts - 20)
            #expect(log.busy.allSatisfy { $0.retryAfterMilliseconds > 0 && $0.retryAfterMilliseconds <= 60_000 })

            let refusals = try await fleet.events().filter { $0.kind == "enrol_refused" }
            #expect(refusals.count == 1, "one event for the window, not \(refusals.count)")
            #expect(refusals.first?.detail.contains("127.0.0.2") == true)
            let warnings = try #require(fleet.coordinator).log.components(separatedBy: "enrol_refused").count - 1
            #expect(warnings == 1)

            // Another source is not limited.
            #expect((try? await fleet.createToken()) != nil)
            await fleet.stopAll()
        }

        @Test func garbageFromOneSourceCountsTowardsItsLimitAndIsLoggedOnce() async throws {
            let fleet = try Fleet("garbage")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let log = AnswerLog()
            for _ in 0..<25 {
                let channel = try await RawClients.open(
                    port: fleet.port,
                    source: "127.0.0.3",
                    sending: ByteBuffer(bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8)),
                    log: log
                )
                try await channel.closeFuture.get()
            }
            #expect(log.errors == Array(repeating: .frameTooLarge, count: 20))
            #expect(log.busy.count == 5)
            let coordinator = try #require(fleet.coordinator)
            #expect(coordinator.log.components(separatedBy: "closing connection after protocol error").count - 1 == 1)
            #expect(try await fleet.events().filter { $0.kind.contains("protocol") }.isEmpty, "no events for garbage")
            await fleet.stopAll()
        }

        @Test func theAgentWaitsAtLeastAsLongAsBusyAsks() async throws {
            let fleet = try Fleet("busywait")
            defer { fleet.cleanUp() }
            fleet.extraCoordinatorArguments = [
                "--max-handshakes", "1", "--busy-retry-after", "30s", "--handshake-timeout", "300s",
            ]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            // A silent client holds the only handshake slot: the agent is answered busy, "retry after 30 s".
            let holder = try await RawClients.open(port: fleet.port, sending: nil, log: AnswerLog())
            let agent = try fleet.startAgent("patient", token: token.token)
            #expect(try await eventually(timeout: .seconds(15)) { agent.log.contains("coordinator busy") })
            // Its own backoff alone would have tried 3 or 4 more times in 8 s (0.5 s, doubling).
            try await Task.sleep(for: .seconds(8))
            #expect(agent.log.components(separatedBy: "coordinator busy").count - 1 == 1, "\(agent.log)")
            try await holder.close()
            await fleet.stopAll()
        }

        /// One handshake: hello, then (after helloAccept) an enrolment with a token that does not exist.
        private func enrolWithUnknownToken(
            port: Int,
            source: String,
            identity: DeviceIdentity,
            log: AnswerLog
        )
            async throws
        {
            let before = log.all.count
            let channel = try await RawClients.open(port: port, source: source, sending: RawClients.hello(), log: log)
            _ = try await eventually(timeout: .seconds(5), every: .milliseconds(1)) { log.all.count > before }
            if case .helloAccept(let accept)? = log.all.last {
                let enrol = Enrol(
                    token: "tft_0000000000000000000000000000000000000000",
                    publicKey: identity.publicKey,
                    signature: try identity.sign(.enrol(nonce: accept.nonce, publicKey: identity.publicKey)),
                    name: "intruder",
                    labels: [:],
                    capabilities: [:],
                    software: "hostile-test"
                )
                try await channel.writeAndFlush(Message.enrol(enrol).encodedFrame())
            }
            try await channel.closeFuture.get()
        }
    }
}
