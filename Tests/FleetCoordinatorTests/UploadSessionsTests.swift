import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

@Suite struct UploadSessionsTests {
    let root: String

    init() throws {
        root =
            FileManager.default.temporaryDirectory.appendingPathComponent("uploads-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: root + "/uploads", withIntermediateDirectories: true)
    }

    func request(model: String = "digits-mlp", size: Int = 4) -> UploadBegin {
        UploadBegin(
            requestID: 1,
            model: model,
            version: 1,
            variant: "fp32",
            size: size,
            sha256: Digest.sha256([1, 2, 3, 4]),
            requirements: [:],
            metadata: [:]
        )
    }

    func partFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/uploads")) ?? []).filter {
            $0.hasSuffix(".part")
        }
    }

    /// Five coordinator kills during large pushes once left 194 MB of `uploads/*.part` behind for good.
    @Test func partsLeftByAStoppedCoordinatorAreRemovedAtStart() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["u-0011223344aa.part", "generated-1a2b3c4d.part"] {
            #expect(FileManager.default.createFile(atPath: root + "/uploads/" + name, contents: Data(count: 1 << 16)))
        }
        #expect(partFiles().count == 2)
        _ = UploadSessions(dataDirectory: root)
        #expect(partFiles().isEmpty)
    }

    @Test func anIdleUploadIsDiscardedWithItsFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sessions = UploadSessions(dataDirectory: root, idleTimeout: .milliseconds(50))
        let abandoned = try await sessions.begin(request())
        #expect(partFiles().count == 1)
        try await Task.sleep(for: .milliseconds(200))
        let next = try await sessions.begin(request())
        #expect(await sessions.count == 1)
        #expect(partFiles() == ["\(next).part"])
        await #expect(throws: ErrorMessage.self) {
            try await sessions.append(UploadChunk(requestID: 2, uploadID: abandoned, offset: 0, bytes: [1]))
        }
    }

    @Test func namesFollowTheProtocolsOneRule() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sessions = UploadSessions(dataDirectory: root)
        for name in [".hidden", "a..b", "", String(repeating: "x", count: 65), "sp ace", "é"] {
            await #expect(throws: ErrorMessage.self, "\(name)") { try await sessions.begin(request(model: name)) }
            #expect(!ModelNameRule.isValid(name))
        }
        _ = try await sessions.begin(request(model: "digits-mlp_v2.int8"))
    }
}
