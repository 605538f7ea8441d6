import FleetStore
import FleetTrust
import Foundation
import Testing

@testable import FleetCoordinator

/// The console's model page numbers (``ModelDeliveryView``) from a real (in-memory) store.
@Suite struct ModelDeliveryViewTests {
    @Test func perVersionAssignedInstalledFailedAndBytesSaved() async throws {
        let store = try CoordinatorStore.inMemory()
        let now = Date()
        for (version, variant) in [(1, "fp32"), (2, "fp32"), (2, "int8")] {
            try await store.addModelVariant(
                NewModelVariant(
                    model: "m",
                    version: version,
                    variant: variant,
                    size: 1000 + version,
                    sha256: Array(repeating: UInt8(version * 10 + variant.count), count: 32),
                    blobPath: "blobs/\(version)-\(variant)",
                    requirements: [:],
                    metadata: [:],
                    signedManifest: [],
                    createdAt: now
                )
            )
        }
        let secret = Digest.sha256(Array("token".utf8))
        _ = try await store.createToken(
            NewEnrolmentToken(id: "tok", secretHash: secret, uses: 4, expiresAt: nil, labels: [:], createdAt: now)
        )
        for id in ["dev-a", "dev-b", "dev-c", "dev-d"] {
            _ = try await store.enrol(
                device: NewDevice(
                    id: id,
                    name: id,
                    publicKey: Digest.sha256(Array(id.utf8)),
                    labels: [:],
                    capabilities: [:],
                    agentVersion: "t",
                    enrolledAt: now
                ),
                tokenHash: secret,
                now: now
            )
        }
        let assigned: [(String, Int?, String?)] = [
            ("dev-a", 2, "fp32"), ("dev-b", 2, "fp32"), ("dev-c", 2, "int8"), ("dev-d", nil, nil),
        ]
        for (device, version, variant) in assigned {
            try await store.setAssignment(
                ModelAssignment(
                    deviceID: device,
                    model: "m",
                    version: version,
                    variant: variant,
                    reason: "test",
                    updatedAt: now
                )
            )
        }
        // dev-a failed v2 once and runs it now (not failed); dev-b failed it; dev-c refused int8 twice (once).
        let failures: [(String, String, String)] = [
            ("dev-a", "install_failed", "m v2 fp32: E_HASH: x"), ("dev-b", "install_failed", "m v2 fp32: E_HASH: x"),
            ("dev-c", "install_refused", "m v2 int8: needs more"), ("dev-c", "install_refused", "m v2 int8: again"),
        ]
        for (device, kind, detail) in failures {
            try await store.appendEvent(NewEvent(at: now, deviceID: device, kind: kind, detail: detail))
        }
        let transfers: [(String, Int, String, Int, Int)] = [
            ("dev-a", 1, "full", 100, 100), ("dev-a", 2, "delta", 30, 100), ("dev-b", 1, "full", 100, 100),
        ]
        for (device, version, encoding, wire, full) in transfers {
            try await store.recordTransfer(
                NewTransfer(
                    deviceID: device,
                    model: "m",
                    version: version,
                    variant: "fp32",
                    encoding: encoding,
                    baseVersion: encoding == "delta" ? 1 : nil,
                    wireBytes: wire,
                    fullBytes: full,
                    fileBytes: 1000,
                    startedAt: now,
                    completedAt: now,
                    resumedFrom: 0
                )
            )
        }
        // dev-a runs v2, dev-b v1, dev-c nothing: reported in heartbeats, as the coordinator stores them.
        let running: [(String, Int?)] = [("dev-a", 2), ("dev-b", 1), ("dev-c", nil)]
        try await store.recordHeartbeats(
            running.map { device, version in
                HeartbeatUpdate(
                    deviceID: device,
                    lastSeen: now,
                    reported: ReportedState(
                        agentVersion: "t",
                        capabilities: [:],
                        installedModels: version.map {
                            [
                                InstalledModelRecord(
                                    name: "m",
                                    version: $0,
                                    variant: "fp32",
                                    sha256: [UInt8](repeating: 1, count: 32)
                                )
                            ]
                        } ?? []
                    )
                )
            }
        )
        let delivery = try #require(try await ModelDeliveryView.load("m", in: store))
        #expect(delivery.unfit == 1)
        let rows = delivery.variants.map {
            [
                $0.version, $0.assigned, $0.installed, $0.failed, $0.transfers, $0.deltaTransfers, $0.bytesSent,
                $0.fullBytes, $0.bytesSaved,
            ]
        }
        #expect(delivery.variants.map(\.variant) == ["fp32", "int8", "fp32"], "newest version first")
        #expect(rows[0] == [2, 2, 1, 1, 1, 1, 30, 100, 70], "v2 fp32: \(rows[0])")
        #expect(rows[1] == [2, 1, 0, 1, 0, 0, 0, 0, 0], "v2 int8: \(rows[1])")
        #expect(rows[2] == [1, 0, 1, 0, 2, 0, 200, 200, 0], "v1 fp32: \(rows[2])")
        #expect(try await ModelDeliveryView.load("other", in: store) == nil)
    }
}
