import FleetWire
import Foundation
import Testing

@testable import FleetAgent

#if canImport(Glibc)
import Glibc
#endif

/// A full disk during an install is a local, temporary failure: the agent reports the real cause, removes the
/// partial files, and installs once space is back, without a restart. The disk is a real tmpfs of 512 KiB.
@Suite(.serialized) struct StorageFailureTests {
    /// Mounts a tmpfs of `size` for the test's duration (needs root, as CI and this machine run tests).
    struct SmallDisk {
        let path: String

        init(size: String) throws {
            path = NSTemporaryDirectory() + "tinyfleet-disk-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        }

        func unmount() {
            try? Self.run("/bin/umount", [path])
            try? FileManager.default.removeItem(atPath: path)
        }

        static func run(_ tool: String, _ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments)"])
            }
        }
    }

    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs")) func aFullDiskIsRetriedOnceSpaceIsBack() async throws {
        let disk = try SmallDisk(size: "512k")
        defer { disk.unmount() }
        var harness = try ModelSyncHarness(directory: disk.path + "/agent")
        harness.sync.storageRetryDelay = .seconds(1)
        let v1 = try ModelSyncHarness.model(fill: 1)
        #expect(try await harness.deliver(manifest: harness.manifest(version: 1, file: v1, issuedAt: Date()), file: v1))

        // 400 KB of zeros: a payload of a few hundred bytes, a file that no longer fits once the filler is there.
        let filler = disk.path + "/filler"
        try Data(count: 300 * 1024).write(to: URL(fileURLWithPath: filler))
        let v2 = try ModelSyncHarness.model(fill: 0, count: 100_000)
        let manifest = try harness.manifest(version: 2, file: v2, issuedAt: Date())
        #expect(try await harness.deliver(manifest: manifest, file: v2) == false)

        let report = try #require(try await harness.reports().last)
        #expect(report.outcome == .failed && report.code == "storage-error", "\(report.code)")
        #expect(report.detail.contains("No space left on device"), "the real cause: \(report.detail)")
        let modelDirectory = harness.directory + "/models/m"
        let left = try FileManager.default.contentsOfDirectory(atPath: modelDirectory)
        #expect(!left.contains("current.safetensors.new") && !left.contains("pending.json"), "partial files: \(left)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: harness.directory + "/transfers")) ?? [] == [])
        #expect(try harness.installed()?.bytes == v1, "v1 stays where applications read it")

        // Space is back: after the pause, a tick fetches again and installs, in the same process.
        try FileManager.default.removeItem(atPath: filler)
        // The pause is 1 s; poll rather than sleep a fixed time, so a loaded machine cannot make the test lie. On a
        // loaded machine the pause may already have passed while the failure was being reported: then the agent
        // asked for the retry in its answer to the last chunk, as the session would send it.
        let deadline = ContinuousClock.now + .seconds(30)
        var due = harness.nextFetch
        while due == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            due = harness.tick()
        }
        let retry = try #require(due, "the install is retried, not refused")
        #expect(try await harness.serve(retry, file: v2))
        #expect(try harness.installed()?.version == "2")
    }
}
