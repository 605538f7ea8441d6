import FleetDelta
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import Testing

@testable import FleetCoordinator

/// What a device can make the coordinator do with `fetchModel`: fetch only what it is assigned, get a delta only
/// from the version it reports running, share one computation per (base, target) with concurrent fetches, and
/// never grow the payload cache past its byte budget.
@Suite struct FetchPolicyTests {
    let fixture: RegistryFixture
    var directory: String { fixture.directory }
    var store: CoordinatorStore { fixture.store }
    var registry: ModelRegistry { fixture.registry }
    static let device = "dev-1"

    init() async throws {
        fixture = try RegistryFixture("fetch")
        let hash = [UInt8](repeating: 7, count: 32)
        _ = try await store.createToken(
            NewEnrolmentToken(id: "t", secretHash: hash, uses: 1, expiresAt: nil, labels: [:], createdAt: Date())
        )
        _ = try await store.enrol(
            device: NewDevice(
                id: Self.device,
                name: "one",
                publicKey: [UInt8](repeating: 1, count: 32),
                labels: [:],
                capabilities: [:],
                agentVersion: "test",
                enrolledAt: Date()
            ),
            tokenHash: hash,
            now: Date()
        )
    }

    /// Version `version` of a 16 KiB model: pseudo-random weights (they do not compress), a few changed per version.
    static func weights(_ version: Int) throws -> [UInt8] {
        var state: UInt32 = 12345
        var bytes = (0..<4096 * 4).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        for index in 0..<version { bytes[index * 97] ^= 0xFF }
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", dtype: .f32, shape: [4096], bytes: bytes)
        return writer.build()
    }

    /// Publishes v1…v3 of `m`; the device is assigned v3.
    func publishThree() async throws {
        for version in 1...3 {
            _ = try await registry.publishGenerated(
                model: "m",
                version: version,
                variant: "fp32",
                bytes: Self.weights(version),
                requirements: [:],
                metadata: [:]
            )
        }
    }

    func reportRunning(_ version: Int, capabilities: [String: String] = [:]) async throws {
        let installed = InstalledModelRecord(
            name: "m",
            version: version,
            variant: "fp32",
            sha256: Digest.sha256(try Self.weights(version))
        )
        try await store.recordHeartbeats([
            HeartbeatUpdate(
                deviceID: Self.device,
                lastSeen: Date(),
                reported: ReportedState(agentVersion: "test", capabilities: capabilities, installedModels: [installed])
            )
        ])
    }

    func fetch(_ version: Int, base: Int?) throws -> FetchModel {
        FetchModel(
            requestID: 9,
            model: "m",
            version: version,
            variant: "fp32",
            baseSHA256: try base.map { Digest.sha256(try Self.weights($0)) } ?? [],
            resumePayloadSHA256: [],
            resumeOffset: 0
        )
    }

    @Test func onlyTheAssignedVersionIsServed() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        let error = await #expect(throws: ErrorMessage.self) {
            _ = try await registry.payload(for: fetch(2, base: nil), deviceID: Self.device)
        }
        #expect(error?.code == .conflict && error?.message.contains("not assigned") == true)
        #expect(try await registry.payload(for: fetch(3, base: nil), deviceID: Self.device).encoding == .full)
    }

    @Test func aDeltaOnlyFromTheVersionTheDeviceRuns() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        try await reportRunning(1)
        let fromOther = try await registry.payload(for: fetch(3, base: 2), deviceID: Self.device)
        #expect(fromOther.encoding == .full, "v2 is not what the device runs: no delta from it")
        let fromRunning = try await registry.payload(for: fetch(3, base: 1), deviceID: Self.device)
        #expect(fromRunning.encoding == .delta && fromRunning.baseVersion == 1)
        let cached = try await store.cachedDeltas()
        #expect(cached.count == 2, "the full file and the one delta: \(cached.map(\.encoding))")
    }

    @Test func concurrentFetchesShareOneComputation() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        try await reportRunning(1)
        let registry = self.registry
        let request = try fetch(3, base: 1)
        let payloads = try await withThrowingTaskGroup(of: ModelRegistry.Payload.self) { group in
            for _ in 0..<16 { group.addTask { try await registry.payload(for: request, deviceID: Self.device) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(payloads.map(\.sha256)).count == 1)
        #expect(await registry.builds.computations == 2, "one full file and one delta for 16 fetches")
    }

    @Test func theCacheStaysWithinItsByteBudget() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        var registry = self.registry
        let full = try await registry.payload(for: fetch(3, base: nil), deviceID: Self.device)
        registry.payloadCacheBytes = full.size
        try await reportRunning(1)
        _ = try await registry.payload(for: fetch(3, base: 1), deviceID: Self.device)
        try await reportRunning(2)
        let last = try await registry.payload(for: fetch(3, base: 2), deviceID: Self.device)
        let cached = try await store.cachedDeltas()
        #expect(cached.reduce(0) { $0 + $1.size } <= full.size, "\(cached.map(\.size))")
        #expect(!cached.contains { $0.path == full.relativePath }, "the oldest payload went first")
        #expect(cached.contains { $0.path == last.relativePath }, "the newest payload is kept")
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasPrefix("payloads/") }
        #expect(Set(files) == Set(cached.map(\.path)), "evicted payloads are deleted from disk")
    }

    /// A device reporting `class=mcu` gets stream-mode patches (DELTA.md 12), cached apart from the tensor-mode
    /// patch other devices get for the same pair; both rebuild the same file.
    @Test func aMicrocontrollerGetsAStreamModePatch() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        try await reportRunning(1)
        let linux = try await registry.payload(for: fetch(3, base: 1), deviceID: Self.device)
        try await reportRunning(1, capabilities: ["class": "mcu", "arch": "armv7em"])
        let mcu = try await registry.payload(for: fetch(3, base: 1), deviceID: Self.device)
        #expect(linux.encoding == .delta && mcu.encoding == .delta && mcu.baseVersion == 1)
        let linuxPatch = try registry.blobs.read(linux.relativePath)
        let mcuPatch = try registry.blobs.read(mcu.relativePath)
        #expect(linuxPatch[4] == 1 && mcuPatch[4] == 2, "tensor mode for Linux, stream mode for the microcontroller")
        #expect(try DeltaCodec.apply(old: Self.weights(1), patch: mcuPatch) == Self.weights(3))
        #expect(try DeltaCodec.apply(old: Self.weights(1), patch: linuxPatch) == Self.weights(3))
        #expect(try await store.cachedDeltas().count == 3, "the full file and one patch of each mode")
    }

    @Test func theFullPayloadIsTheBlobCompressedAsAStream() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A blob of several stream chunks (1 MiB each) and a tail, partly compressible.
        let size = 3 * BlobStore.streamChunkSize + 12_345
        let blob = (0..<size).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 31 ^ ($0 % 251)) }
        let digest = Digest.sha256(blob)
        let staged = directory + "/staged"
        #expect(FileManager.default.createFile(atPath: staged, contents: Data(blob)))
        let relative = try registry.blobs.adopt(file: staged, sha256: digest)
        let written = try registry.blobs.writeCompressedPayload(of: relative, name: "full-test")
        let payload = try registry.blobs.read(written.path)
        #expect(written.size == payload.count && written.sha256 == Digest.sha256(payload))
        #expect(payload.count < blob.count / 2, "compressed: \(payload.count) of \(blob.count)")
        #expect(try Zlib.decompress(payload, maximumSize: size) == blob)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/payloads")
        #expect(leftovers == ["full-test"], "no temporary file stays behind")
    }

    @Test func pairsTooLargeForTheDeltaCodecGetTheFullFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await publishThree()
        try await reportRunning(1)
        var registry = self.registry
        registry.maximumDeltaInputBytes = try Self.weights(1).count * 2 - 1
        let payload = try await registry.payload(for: fetch(3, base: 1), deviceID: Self.device)
        #expect(payload.encoding == .full, "v1 + v3 pass the bound: the full file, computed as a stream")
        #expect(try await store.cachedDeltas().map(\.encoding) == ["full"], "no delta was computed")
    }

    @Test func differentPayloadsAreComputedAtMostTwoAtATime() async throws {
        let builds = PayloadBuilds(concurrentLimit: 2)
        let gauge = ConcurrencyGauge()
        try await withThrowingTaskGroup(of: ModelRegistry.Payload.self) { group in
            for key in 0..<8 {
                group.addTask {
                    try await builds.run(key: [UInt8(key)]) {
                        await gauge.enter()
                        try await Task.sleep(for: .milliseconds(20))
                        await gauge.leave()
                        return ModelRegistry.Payload(
                            relativePath: "p\(key)",
                            encoding: .full,
                            baseVersion: 0,
                            size: 0,
                            sha256: []
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        let (peak, entered) = (await gauge.peak, await gauge.entered)
        #expect(peak == 2 && entered == 8)
    }
}

/// The most tasks inside a section at once.
private actor ConcurrencyGauge {
    private var inside = 0
    private(set) var peak = 0
    private(set) var entered = 0

    func enter() {
        inside += 1
        entered += 1
        peak = max(peak, inside)
    }

    func leave() { inside -= 1 }
}
