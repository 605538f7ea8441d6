import FleetStore
import FleetWire
import Foundation
import Logging
import Synchronization
import Testing

@testable import FleetAgent

/// The training feature answers tasks beside the session: an answer ready while no connection is open waits for
/// the next one, an unanswered update is sent again on every new connection until the coordinator answers it,
/// and a task received twice is answered once. (The tasks here are declined, no consent: the delivery is the
/// same for trained updates.)
@Suite struct TrainingDeliveryTests {
    /// The messages one connection's link was asked to send.
    final class Sent: Sendable {
        private let messages = Mutex<[Message]>([])
        var all: [Message] { messages.withLock { $0 } }
        var link: AgentLink {
            AgentLink(send: { message in self.messages.withLock { $0.append(message) } }, nextRequestID: { 1 })
        }
        var updates: [UInt64] {
            all.compactMap { if case .trainUpdate(let update) = $0 { update.requestID } else { nil } }
        }
    }

    static func task(round: Int) -> TrainTask {
        TrainTask(
            requestID: TrainingFeature.coordinatorRequestBit | UInt64(round),
            round: round,
            model: "digits-mlp",
            baseVersion: 1,
            variant: "fp32",
            baseSHA256: [UInt8](repeating: 1, count: 32),
            parameters: TrainingParameters(localEpochs: 1, learningRate: 0.1, batchSize: 16, seed: 7, quantize: false),
            // No deadline: a task older than its deadline is skipped, and this test is about delivery, not deadlines
            // (on a loaded machine a task can wait that long before the training thread takes it).
            deadlineMilliseconds: 0,
            personalPrefix: ""
        )
    }

    @Test func updatesWaitForAConnectionAndAreSentAgainUntilAnswered() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("training-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let feature = TrainingFeature(
            configuration: AgentConfiguration(dataDirectory: directory),
            deviceID: "d-test",
            consent: AgentConsentBook(store: try AgentStore.inMemory(), identity: .generate()),
            keyring: ModelKeyring(offlineLease: .seconds(60)),
            logger: .quietTest
        )
        let running = Task { await feature.run() }
        defer { running.cancel() }
        let first = Self.task(round: 1)

        // The task comes, the connection drops before its answer is ready; the next connection carries it.
        let dropped = Sent()
        try await feature.connected(dropped.link)
        #expect(try await feature.handle(.trainTask(first), dropped.link))
        await feature.disconnected()
        let next = Sent()
        try await feature.connected(next.link)
        #expect(try await Self.eventually { next.updates == [first.requestID] }, "\(next.all)")

        // Not answered yet: sent again on the connection after.
        await feature.disconnected()
        let again = Sent()
        try await feature.connected(again.link)
        #expect(again.updates == [first.requestID])

        // Answered: not sent any more; the same task again is not trained again, a new one is.
        #expect(try await feature.handle(.ack(Ack(requestID: first.requestID)), again.link))
        await feature.disconnected()
        let later = Sent()
        try await feature.connected(later.link)
        let second = Self.task(round: 2)
        #expect(try await feature.handle(.trainTask(first), later.link))
        #expect(try await feature.handle(.trainTask(second), later.link))
        #expect(try await Self.eventually { !later.updates.isEmpty }, "\(later.all)")
        #expect(later.updates == [second.requestID], "tasks are answered in order; the repeat was not")
    }

    /// Polls until `condition` holds, for up to twenty minutes. The feature's work here takes milliseconds, but each
    /// of its steps (the actor, the consent read, the send) waits its turn on Swift concurrency's pool, which has
    /// one thread per core: in `swift test` on 2 cores every test of the suite is queued there at once. CI runs
    /// showed a step waiting over a minute (two failures in about ten runs with a one-minute bound), and on a
    /// machine loaded by other builds the whole suite's first tests queued for 650 s (fresh-clone run 40 failed
    /// here with a five-minute bound). This test is about delivery, not speed: a generous bound costs nothing when
    /// it passes.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(1200)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(25)) }
        return condition()
    }
}
