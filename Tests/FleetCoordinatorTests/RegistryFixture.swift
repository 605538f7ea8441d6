import FleetStore
import FleetTrust
import Foundation
import Logging

@testable import FleetCoordinator

/// A real ``ModelRegistry``: an in-memory store, a fresh data directory for blobs, uploads and payloads.
struct RegistryFixture {
    let directory: String
    let store: CoordinatorStore
    let registry: ModelRegistry

    init(_ label: String) throws {
        directory = NSTemporaryDirectory() + "tinyfleet-\(label)-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try CoordinatorStore.inMemory()
        registry = ModelRegistry(
            store: store,
            blobDirectory: directory,
            releaseKey: .generate(),
            connections: ConnectionRegistry(),
            logger: .quietTest
        )
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
