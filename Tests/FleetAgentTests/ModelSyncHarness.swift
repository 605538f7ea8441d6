import FleetDelta
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

@testable import FleetAgent

/// Drives the agent's ``ModelSync`` message by message, as its session does, against a signing key and a real
/// data directory: the tests play the coordinator.
struct ModelSyncHarness {
    let directory: String
    let key = ReleaseKey.generate()
    let store: AgentStore
    var sync: ModelSync
    private var lastRequestID: UInt64 = 0
    /// The fetch the agent asked for in answer to the last chunk ``serve`` gave it (the next target, or a retry whose
    /// pause had already passed), which the session would send.
    private(set) var nextFetch: FetchModel?
    static let deviceID = "dev-1"

    init(directory: String? = nil) throws {
        let directory = directory ?? NSTemporaryDirectory() + "tinyfleet-sync-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        store = try AgentStore.inMemory()
        sync = Self.makeSync(directory, key, store)
    }

    private static func makeSync(_ directory: String, _ key: ReleaseKey, _ store: AgentStore) -> ModelSync {
        ModelSync(
            dataDirectory: directory,
            deviceID: deviceID,
            releaseKey: key.publicKey,
            keyring: ModelKeyring(offlineLease: .seconds(60)),
            reports: ModelReportOutbox(store: store),
            logger: .quietTest
        )
    }

    /// A new ``ModelSync`` on the same data directory, as after an agent restart (nothing kept in memory).
    mutating func restart() throws {
        sync = Self.makeSync(directory, key, store)
    }

    /// The session's tick (on each message from the coordinator): a retry that is due, if any.
    mutating func tick() -> FetchModel? {
        var id = lastRequestID
        let fetch = sync.tick {
            id += 1
            return id
        }
        lastRequestID = id
        return fetch
    }

    /// A safetensors file of one F32 tensor of `count` elements, every byte `fill`.
    static func model(fill: UInt8, count: Int = 16) throws -> [UInt8] {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", dtype: .f32, shape: [count], bytes: [UInt8](repeating: fill, count: count * 4))
        return writer.build()
    }

    /// A signed manifest for `file` (a rollback directive targets this device).
    func manifest(
        _ model: String = "m",
        version: Int,
        file: [UInt8],
        issuedAt: Date,
        kind: ReleaseManifest.Kind = .release,
        metadata: [String: String] = [:]
    ) throws -> [UInt8] {
        let manifest = ReleaseManifest(
            model: model,
            version: version,
            variant: "fp32",
            size: file.count,
            sha256: Digest.sha256(file),
            metadata: metadata,
            issuedAt: issuedAt,
            kind: kind,
            targetDevice: kind == .rollback ? Self.deviceID : nil
        )
        return try SignedManifest.sign(manifest, with: key).encoded()
    }

    /// Sends a desired state naming `manifest`; returns the fetch the agent asks for, if any.
    mutating func offer(_ model: String = "m", manifest: [UInt8]) async -> FetchModel? {
        var id = lastRequestID
        let state = DesiredState(models: [DesiredModel(model: model, manifest: manifest, reason: "test")])
        let fetch = await sync.desired(state) {
            id += 1
            return id
        }
        lastRequestID = id
        return fetch
    }

    /// Serves `fetch` with `file` as a full (zlib) payload in one chunk; returns whether the agent installed it.
    mutating func serve(_ fetch: FetchModel, file: [UInt8]) async throws -> Bool {
        let payload = try Zlib.compress(file, level: 9)
        try await sync.started(
            TransferStart(
                requestID: fetch.requestID,
                encoding: .full,
                baseVersion: 0,
                totalBytes: payload.count,
                payloadSHA256: Digest.sha256(payload),
                offset: 0
            )
        )
        var id = lastRequestID
        let (installed, next) = try await sync.chunk(
            TransferChunk(requestID: fetch.requestID, offset: 0, bytes: payload)
        ) {
            id += 1
            return id
        }
        lastRequestID = id
        nextFetch = next
        return installed
    }

    /// Offers and, when the agent asks for it, serves `file`; returns whether it was installed.
    mutating func deliver(_ model: String = "m", manifest: [UInt8], file: [UInt8]) async throws -> Bool {
        guard let fetch = await offer(model, manifest: manifest) else { return false }
        return try await serve(fetch, file: file)
    }

    /// The installed version of `model` and the bytes applications read.
    func installed(_ model: String = "m") throws -> (version: String, bytes: [UInt8])? {
        guard let state = sync.installer.installed(model: model) else { return nil }
        return (state.version, Array(try Data(contentsOf: URL(fileURLWithPath: state.path))))
    }

    /// Reports queued for the coordinator, oldest first.
    func reports() async throws -> [ModelReport] {
        try await ModelReportOutbox(store: store).pending().map(\.report)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
}
