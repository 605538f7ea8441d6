import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// SPEC.md section 15.2, precedence: a `startRound` with several faults gets the error of the first failing check
/// in the order own fields (300), names (301), state (302), whether or not rounds are running.
@Suite struct StartRoundPrecedenceTests {
    func service() async throws -> (LearningService, RoundRunner) {
        let store = try CoordinatorStore.inMemory()
        let logger = Logger.quietTest
        let connections = ConnectionRegistry()
        let models = ModelRegistry(
            store: store,
            blobDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("fleet-rounds-\(UUID())").path,
            releaseKey: .generate(),
            connections: connections,
            logger: logger
        )
        let runner = RoundRunner(
            store: store,
            models: models,
            connections: connections,
            presence: PresenceTracker(offlineTimeout: 30),
            logger: logger
        )
        let service = LearningService(runner: runner, models: models)
        try await enrolDeviceWithTrainingConsent(store: store, models: models, logger: logger)
        let initModel = InitModel(
            requestID: 1,
            model: "m",
            variant: "fp32",
            architecture: "mlp",
            layers: [4, 3],
            seed: 1
        )
        guard case .modelPushed = await service.handleAdmin(.initModel(initModel), frameBudget: 1 << 20) else {
            throw StartRoundTestError.setupFailed
        }
        return (service, runner)
    }

    /// One device, offline, whose owner granted training consent: `startRound` counts it as a device that may
    /// take part, so a valid request is not refused for lack of devices (it then waits for it).
    func enrolDeviceWithTrainingConsent(store: CoordinatorStore, models: ModelRegistry, logger: Logger) async throws {
        let enrolled = try await TestEnrolment.enrol(store: store, models: models, logger: logger, name: "trainer")
        let (identity, deviceID) = (enrolled.identity, enrolled.deviceID)
        let grant = ConsentRecord(
            deviceID: deviceID,
            purpose: .training,
            action: .grant,
            until: nil,
            issuedAt: Date().addingTimeInterval(-3600),
            sequence: 1
        )
        let observability = ObservabilityService(store: store, connections: ConnectionRegistry(), logger: logger)
        let bytes = try SignedConsentRecord.sign(grant, with: identity).encoded()
        let reply = await observability.handle(
            .consentUpdate(ConsentUpdate(requestID: 2, record: bytes)),
            from: deviceID
        )
        guard reply == .ack(Ack(requestID: 2)) else { throw StartRoundTestError.setupFailed }
    }

    /// A round on model `m`, variant `fp32`, that waits 10 minutes for devices (there are none).
    func request(id: UInt64, variant: String = "fp32", clients: Int = 2, minimumClients: Int = 1) -> Message {
        .startRound(
            StartRound(
                requestID: id,
                model: "m",
                variant: variant,
                clients: clients,
                minimumClients: minimumClients,
                deadlineMilliseconds: 600_000,
                parameters: TrainingParameters(
                    localEpochs: 1,
                    learningRate: 0.05,
                    batchSize: 8,
                    seed: 1,
                    quantize: false
                ),
                strategy: "",
                rounds: 1,
                hierarchical: false,
                personalPrefix: "",
                evaluationCSV: []
            )
        )
    }

    func code(_ reply: Message?) -> ErrorCode? {
        guard case .error(let error) = reply else { return nil }
        return error.code
    }

    @Test func theSameFaultsGetTheSameCodeWhetherOrNotRoundsRun() async throws {
        let (service, runner) = try await service()
        defer { Task { await runner.stop() } }
        // Idle.
        #expect(code(await service.handleAdmin(request(id: 2, minimumClients: 3), frameBudget: 1 << 20)) == .badRequest)
        #expect(code(await service.handleAdmin(request(id: 3, variant: "int8"), frameBudget: 1 << 20)) == .notFound)
        guard case .roundStarted = await service.handleAdmin(request(id: 4), frameBudget: 1 << 20) else {
            Issue.record("the first valid request starts rounds")
            return
        }
        // Rounds running: the request's own faults and unknown names come first; only a valid request gets 302.
        #expect(code(await service.handleAdmin(request(id: 5, minimumClients: 3), frameBudget: 1 << 20)) == .badRequest)
        #expect(
            code(await service.handleAdmin(request(id: 6, variant: "int8", minimumClients: 3), frameBudget: 1 << 20))
                == .badRequest
        )
        #expect(code(await service.handleAdmin(request(id: 7, variant: "int8"), frameBudget: 1 << 20)) == .notFound)
        #expect(code(await service.handleAdmin(request(id: 8), frameBudget: 1 << 20)) == .conflict)
    }

    @Test func concurrentValidRequestsStartOneJob() async throws {
        let (service, runner) = try await service()
        defer { Task { await runner.stop() } }
        let replies = await withTaskGroup(of: Message?.self) { group in
            for id in UInt64(10)..<18 {
                group.addTask { await service.handleAdmin(self.request(id: id), frameBudget: 1 << 20) }
            }
            return await group.reduce(into: [Message?]()) { $0.append($1) }
        }
        let started = replies.filter { if case .roundStarted = $0 { true } else { false } }
        #expect(started.count == 1)
        #expect(replies.compactMap(code).allSatisfy { $0 == .conflict })
        #expect(replies.compactMap(code).count == 7)
    }
}

enum StartRoundTestError: Error { case setupFailed }
