import FleetDelta
import FleetStore
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// The rollout engine on a real registry and store (in memory): held versions, wave assignment, the install-failure
/// gate with auto-rollback, completion, controls, and a new service carrying on from the database.
@Suite struct RolloutServiceTests {
    let fixture: RegistryFixture
    let service: RolloutService
    var store: CoordinatorStore { fixture.store }

    init() throws {
        fixture = try RegistryFixture("rollouts")
        service = RolloutService(store: fixture.store, models: fixture.registry, logger: .quietTest)
    }

    /// Six devices running v1 (device `index` from 1 with `labels(index)`); v2 published held.
    func prepare(labels: (Int) -> [String: String] = { _ in [:] }) async throws -> [String] {
        var ids: [String] = []
        for index in 1...6 {
            ids.append(
                try await TestEnrolment.enrol(
                    store: store,
                    models: fixture.registry,
                    logger: .quietTest,
                    name: "d\(index)",
                    labels: labels(index)
                )
                .deviceID
            )
        }
        let bytes = try PublishTransactionTests.model()
        _ = try await fixture.registry.publishGenerated(
            model: "m",
            version: 1,
            variant: "fp32",
            bytes: bytes,
            requirements: [:],
            metadata: [:]
        )
        let held = await service.handleAdmin(
            .holdVersion(HoldVersion(requestID: 1, model: "m", version: 2)),
            frameBudget: 1 << 20
        )
        #expect(held == .ack(Ack(requestID: 1)))
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", dtype: .f32, shape: [4], bytes: [UInt8](repeating: 2, count: 16))
        let pushed = try await fixture.registry.publishGenerated(
            model: "m",
            version: 2,
            variant: "fp32",
            bytes: writer.build(),
            requirements: [:],
            metadata: [:]
        )
        #expect(pushed.assignedDevices == 0, "a held version is assigned to no device")
        return ids
    }

    func start(
        autoRollback: Bool = true,
        soakMilliseconds: Int = 0,
        seed: UInt64 = 5,
        maximumInstallFailurePercent: Double = 20,
        deviceTimeoutMilliseconds: Int = 0,
        selector: [String: String] = [:]
    ) async throws -> RolloutStarted {
        let reply = await service.handleAdmin(
            .startRollout(
                StartRollout(
                    requestID: 2,
                    model: "m",
                    version: 2,
                    selector: selector,
                    waves: [50, 100],
                    soakMilliseconds: soakMilliseconds,
                    minimumDevicesPerWave: 1,
                    maximumInstallFailurePercent: maximumInstallFailurePercent,
                    autoRollback: autoRollback,
                    seed: seed,
                    deviceTimeoutMilliseconds: deviceTimeoutMilliseconds
                )
            ),
            frameBudget: 1 << 20
        )
        guard case .rolloutStarted(let started) = reply else { throw RolloutTestFailure("\(reply as Any)") }
        return started
    }

    /// Device id → assigned version of "m".
    func assigned() async throws -> [String: Int] {
        Dictionary(try await store.assignments(model: "m").map { ($0.deviceID, $0.version ?? 0) }) { a, _ in a }
    }

    func rollout(_ id: Int) async throws -> RolloutRecord {
        try #require(try await store.rollout(id: Int64(id)))
    }

    @Test func onlyTheStartedWaveIsAssignedAndAllWavesCompleteWithTheVersionReleased() async throws {
        let ids = try await prepare()
        #expect(try await assigned().values.allSatisfy { $0 == 1 })
        let started = try await start()
        #expect(started.devices == 6 && started.waves == 2 && started.seed == 5)
        var record = try await rollout(started.rolloutID)
        let first = record.waves[0].devices.map(\.deviceID)
        #expect(first == RolloutWaves.members(devices: ids, sizes: [3, 3], seed: 5)[0].sorted())
        #expect(try await assigned() == Dictionary(uniqueKeysWithValues: ids.map { ($0, first.contains($0) ? 2 : 1) }))

        // Not all reported: the wave stays open.
        try await store.recordRolloutOutcome(deviceID: first[0], model: "m", version: 2, installed: true)
        await service.step(now: Date())
        #expect(try await rollout(started.rolloutID).wave == 1)
        for id in first.dropFirst() {
            try await store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }
        await service.step(now: Date())  // settles (soak 0) and passes: wave 2 starts
        record = try await rollout(started.rolloutID)
        #expect(record.wave == 2 && record.waves[0].decision == "passed" && record.state == .running)
        #expect(try await assigned().values.allSatisfy { $0 == 2 })
        #expect(try await store.heldVersions(model: "m") == [2], "still held until the rollout completes")
        for id in record.waves[1].devices.map(\.deviceID) {
            try await store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
        }
        await service.step(now: Date())
        record = try await rollout(started.rolloutID)
        #expect(record.state == .completed && record.waves.allSatisfy { $0.decision == "passed" })
        #expect(try await store.heldVersions(model: "m").isEmpty, "a completed rollout releases the version")
    }

    @Test func onlyDevicesTheSelectorMatchesAreInTheWavesAndAssignedTheVersion() async throws {
        let ids = try await prepare { $0 % 2 == 0 ? ["site": "lyon"] : ["site": "oslo"] }
        let lyon = Set([ids[1], ids[3], ids[5]])
        let started = try await start(selector: ["site": "lyon"])
        #expect(started.devices == 3, "the three devices labelled site=lyon are eligible")
        var record = try await rollout(started.rolloutID)
        #expect(record.selector == ["site": "lyon"])
        #expect(Set(record.waves.flatMap(\.devices).map(\.deviceID)) == lyon)
        #expect(record.waves.flatMap(\.devices).count == 3, "no device twice")
        for wave in 0..<record.waves.count {
            for id in record.waves[wave].devices.map(\.deviceID) {
                try await store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true)
            }
            // Until the rollout completes, no device outside the selector is assigned v2.
            #expect(try await assigned().filter { !lyon.contains($0.key) }.values.allSatisfy { $0 == 1 })
            await service.step(now: Date())
            record = try await rollout(started.rolloutID)
        }
        #expect(record.state == .completed, "\(record.reason)")
    }

    @Test func aSelectorNoDeviceMatchesIsRefused() async throws {
        _ = try await prepare { _ in ["site": "oslo"] }
        do {
            _ = try await start(selector: ["site": "lyon"])
            Issue.record("a rollout with no eligible device started")
        } catch {
            #expect("\(error)".contains("no device is eligible"), "\(error)")
        }
    }

    @Test func failuresAboveTheLimitHaltAndRollTheStartedWaveBack() async throws {
        let ids = try await prepare()
        let started = try await start()
        let first = try await rollout(started.rolloutID).waves[0].devices.map(\.deviceID)
        try await store.recordRolloutOutcome(deviceID: first[0], model: "m", version: 2, installed: true)
        // One of three is 33 % > 20 %: halted at once, without waiting for the third device.
        try await store.recordRolloutOutcome(deviceID: first[1], model: "m", version: 2, installed: false)
        await service.step(now: Date())
        let record = try await rollout(started.rolloutID)
        #expect(record.state == .rolledBack, "\(record.reason)")
        #expect(record.waves[0].decision == "rolled-back" && record.waves[1].startedAt == nil)
        #expect(record.reason.contains("1 of 3 device(s) failed or refused"), "\(record.reason)")
        for id in ids {
            let pin = try await store.pin(deviceID: id, model: "m")
            #expect((pin?.rollback == true && pin?.version == 1) == first.contains(id), "\(id): \(pin as Any)")
        }
        #expect(try await assigned().values.allSatisfy { $0 == 1 }, "no device is assigned v2 any more")
        // A later step changes nothing.
        await service.step(now: Date())
        #expect(try await rollout(started.rolloutID) == record)
    }

    @Test func withoutAutoRollbackAHaltKeepsTheWaveAndStartsNoOther() async throws {
        let ids = try await prepare()
        let started = try await start(autoRollback: false)
        let first = try await rollout(started.rolloutID).waves[0].devices.map(\.deviceID)
        for id in first { try await store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: false) }
        await service.step(now: Date())
        let record = try await rollout(started.rolloutID)
        #expect(record.state == .halted && record.waves[0].decision == "halted")
        #expect(try await assigned() == Dictionary(uniqueKeysWithValues: ids.map { ($0, first.contains($0) ? 2 : 1) }))
    }

    @Test func controlsFollowTheStateAndANewServiceCarriesOnFromTheDatabase() async throws {
        _ = try await prepare()
        let started = try await start(soakMilliseconds: 3_600_000)
        func control(_ action: ControlRollout.Action) async -> Message? {
            await service.handleAdmin(
                .controlRollout(ControlRollout(requestID: 9, rolloutID: started.rolloutID, action: action)),
                frameBudget: 1 << 20
            )
        }
        guard case .error(let early) = await control(.resume) else {
            Issue.record("resume of a running rollout")
            return
        }
        #expect(early.code == .conflict && early.message.contains("only a paused rollout"))
        #expect(await control(.pause) == .ack(Ack(requestID: 9)))
        let first = try await rollout(started.rolloutID).waves[0].devices.map(\.deviceID)
        for id in first { try await store.recordRolloutOutcome(deviceID: id, model: "m", version: 2, installed: true) }
        await service.step(now: Date())
        #expect(try await rollout(started.rolloutID).waves[0].settledAt == nil, "a paused rollout takes no step")
        #expect(await control(.resume) == .ack(Ack(requestID: 9)))

        // A coordinator restarted: a new service on the same database settles the wave and, after the soak, goes on.
        let restarted = RolloutService(store: store, models: fixture.registry, logger: .quietTest)
        await restarted.step(now: Date())
        #expect(try await rollout(started.rolloutID).waves[0].decision == "soaking")
        await restarted.step(now: Date().addingTimeInterval(3601))
        #expect(try await rollout(started.rolloutID).wave == 2)

        #expect(await control(.promote) == .ack(Ack(requestID: 9)))
        let record = try await rollout(started.rolloutID)
        #expect(record.state == .completed)
        #expect(try await assigned().values.allSatisfy { $0 == 2 })
        guard case .error(let late) = await control(.abort) else {
            Issue.record("abort of a completed rollout")
            return
        }
        #expect(late.code == .conflict && late.message.contains("completed"))
    }

    @Test func anErasedDeviceLeavesItsWave() async throws {
        _ = try await prepare()
        let started = try await start()
        let first = try await rollout(started.rolloutID).waves[0].devices.map(\.deviceID)
        _ = try await store.removeDevice(id: first[0], erase: true, at: Date())
        let wave = try await rollout(started.rolloutID).waves[0]
        #expect(wave.devices.map(\.deviceID) == Array(first.dropFirst()), "erased: no row of it is left")
    }

    @Test func aVersionPushedWithoutNoAssignCannotBeRolledOut() async throws {
        _ = try await prepare()
        _ = try await fixture.registry.publishGenerated(
            model: "m",
            version: 3,
            variant: "fp32",
            bytes: try PublishTransactionTests.model(),
            requirements: [:],
            metadata: ["v": "3"]
        )
        #expect(try await store.heldVersions(model: "m").isEmpty, "a push without --no-assign releases older holds")
        let reply = await service.handleAdmin(
            .startRollout(
                StartRollout(
                    requestID: 2,
                    model: "m",
                    version: 3,
                    waves: [100],
                    soakMilliseconds: 0,
                    minimumDevicesPerWave: 1,
                    maximumInstallFailurePercent: 0,
                    autoRollback: false,
                    seed: 1
                )
            ),
            frameBudget: 1 << 20
        )
        guard case .error(let error) = reply else {
            Issue.record("started: \(reply as Any)")
            return
        }
        #expect(error.code == .conflict && error.message.contains("--no-assign"))
    }
}

struct RolloutTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
