import FleetDelta
import FleetObserve
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// `uploadCommit` publishes everything or nothing, checked by the coordinator itself (not only by `fleetctl`):
/// a file that is not a model, or reference statistics that do not decode, leave no version, no statistics and
/// no upload behind, and the same push then succeeds.
@Suite struct PublishTransactionTests {
    let fixture: RegistryFixture
    var directory: String { fixture.directory }
    var store: CoordinatorStore { fixture.store }
    var registry: ModelRegistry { fixture.registry }

    init() throws {
        fixture = try RegistryFixture("publish")
    }

    static func model() throws -> [UInt8] {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", dtype: .f32, shape: [4], bytes: [UInt8](repeating: 1, count: 16))
        return writer.build()
    }

    static func statistics() throws -> [UInt8] {
        let reference = try ReferenceStatistics.compute(
            features: [[0, 1], [1, 0], [0.5, 0.5]],
            predictions: [0, 1, 1],
            confidences: [0.9, 0.8, 0.7],
            bins: 2,
            classCount: 2
        )
        return try ReferencePackage(statistics: reference).encoded()
    }

    /// Uploads `bytes` and commits them with `statistics`.
    func push(_ bytes: [UInt8], statistics: [UInt8] = [], model: String = "m") async throws -> ModelPushed {
        let begin = UploadBegin(
            requestID: 1,
            model: model,
            version: 1,
            variant: "fp32",
            size: bytes.count,
            sha256: Digest.sha256(bytes),
            requirements: [:],
            metadata: [:]
        )
        let id = try await registry.uploads.begin(begin)
        try await registry.uploads.append(UploadChunk(requestID: 2, uploadID: id, offset: 0, bytes: bytes))
        return try await registry.publish(UploadCommit(requestID: 3, uploadID: id, referenceStatistics: statistics))
    }

    func uploadsLeft() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory + "/uploads")) ?? []
    }

    @Test func badStatisticsPublishNothingAndTheRetrySucceeds() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = try Self.model()
        let error = await #expect(throws: ErrorMessage.self) {
            _ = try await push(bytes, statistics: Array("{\"format\": 1".utf8))
        }
        #expect(error?.code == .badRequest && error?.message.contains("nothing published") == true)
        #expect(try await store.models().isEmpty, "no version was published")
        #expect(try await store.referenceStatistics(model: "m", version: 1) == nil)
        #expect(uploadsLeft().isEmpty)

        let statistics = try Self.statistics()
        let pushed = try await push(bytes, statistics: statistics)
        #expect(pushed.version == 1)
        #expect(try await store.referenceStatistics(model: "m", version: 1) == statistics, "stored with the version")
    }

    @Test func aFileThatIsNotAModelIsRefusedByTheCoordinator() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = Array("this is not a model!!!\n\n".utf8)
        let error = await #expect(throws: ErrorMessage.self) { _ = try await push(text, statistics: Self.statistics()) }
        #expect(error?.code == .badRequest && error?.message.contains("not a loadable safetensors file") == true)
        #expect(try await store.models().isEmpty)
        #expect(try await store.referenceStatistics(model: "m", version: 1) == nil)
        #expect(uploadsLeft().isEmpty)
    }
}
