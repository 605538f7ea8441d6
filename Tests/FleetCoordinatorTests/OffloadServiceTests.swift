import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Synchronization
import Testing

@testable import FleetCoordinator

/// The coordinator's bounds on hybrid inference (SPEC 15a.6): at most 4 offloaded requests at once, one per
/// device; a request is checked before it is run.
@Suite struct OffloadServiceTests {
    @Test func atMostFourAtOnceAndOnePerDevice() {
        let slots = OffloadSlots()
        #expect((1...4).allSatisfy { slots.take("d-\($0)", maximum: 4) })
        #expect(!slots.take("d-5", maximum: 4), "a fifth device waits")
        slots.release("d-1")
        #expect(!slots.take("d-2", maximum: 4), "a device already in flight waits for its answer")
        #expect(slots.take("d-5", maximum: 4))
        slots.release("d-9")
        #expect(!slots.take("d-6", maximum: 4), "releasing a device not in flight frees nothing")
    }

    @Test func badRequestsAndUnknownModelsAreRefusedWithTheirCodes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-offload-\(UUID())").path
        let service = OffloadService(
            store: try CoordinatorStore.inMemory(),
            blobs: BlobStore(dataDirectory: directory),
            logger: Logger.quietTest
        )
        func code(_ rows: [[Double]]) async -> ErrorCode? {
            guard
                case .error(let error) = await service.handle(
                    .offloadInfer(OffloadInfer(requestID: 3, model: "digits-mlp", rows: rows)),
                    from: "d-1"
                )
            else { return nil }
            return error.code
        }
        #expect(await code([]) == .badRequest)
        #expect(await code([[0.5]]) == .notFound)
        #expect(service.inFlight.take("d-1", maximum: 4), "the slot was released after each answer")
    }

    @Test func eachDeviceOffloadsAtMostItsRowsASecond() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-offload-\(UUID())").path
        let clock = TestClock()
        var service = OffloadService(
            store: try CoordinatorStore.inMemory(),
            blobs: BlobStore(dataDirectory: directory),
            logger: Logger.quietTest
        )
        service.rowsPerSecondPerDevice = 3
        service.now = { clock.now }
        func answer(_ rows: Int, from device: String = "d-1") async -> (ErrorCode?, String) {
            let rows = [[Double]](repeating: [0.5], count: rows)
            guard
                case .error(let error) = await service.handle(
                    .offloadInfer(OffloadInfer(requestID: 5, model: "digits-mlp", rows: rows)),
                    from: device
                )
            else { return (nil, "") }
            return (error.code, error.message)
        }
        // Within the rate a request goes on to the model (none here: 404); past it, 503 with the rate.
        #expect(await answer(2).0 == .notFound)
        #expect(await answer(1).0 == .notFound)
        let refused = await answer(1)
        #expect(refused.0 == .unavailable && refused.1.contains("at most 3 rows a second per device"), "\(refused)")
        #expect(await answer(1, from: "d-2").0 == .notFound, "another device has its own rate")
        #expect(await answer(4, from: "d-3").0 == .unavailable, "more rows than a second's worth never pass")
        #expect(await answer(3, from: "d-3").0 == .notFound, "a refused request takes none of the device's rate")
        clock.advance(by: 0.4)
        #expect(await answer(1).0 == .notFound, "a third of a second refills one row")
        #expect(await answer(1).0 == .unavailable)
    }

    @Test func aMeteredModelIsNotRunBeyondTheDevicesGrant() async throws {
        let store = try CoordinatorStore.inMemory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-offload-\(UUID())").path
        let service = OffloadService(store: store, blobs: BlobStore(dataDirectory: directory), logger: Logger.quietTest)
        let key = ReleaseKey.generate()
        _ = try await store.addQuotaGrant(deviceID: "d-1", model: "digits-mlp", at: Date()) { sequence in
            try SignedQuotaGrant.sign(
                QuotaGrant(deviceID: "d-1", model: "digits-mlp", sequence: sequence, queries: 1, issuedAt: Date()),
                with: key
            )
        }
        guard
            case .error(let error) = await service.handle(
                .offloadInfer(OffloadInfer(requestID: 4, model: "digits-mlp", rows: [[0.5], [0.5]])),
                from: "d-1"
            )
        else {
            Issue.record("two rows were run on a grant of one")
            return
        }
        #expect(error.code == .conflict && error.message.contains("1 of digits-mlp's granted queries left"))
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let time = Mutex(Date(timeIntervalSinceReferenceDate: 1_000_000))
    var now: Date { time.withLock { $0 } }
    func advance(by seconds: TimeInterval) { time.withLock { $0 += seconds } }
}
