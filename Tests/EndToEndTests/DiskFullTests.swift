import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A full disk on a device during an install, with real processes: the agent's models directory is a 1 MiB tmpfs.
/// The agent reports the real cause (not a bad payload), leaves no partial files, keeps its model, and installs
/// by itself once space is back, without a restart.
extension EndToEnd {
    @Suite(.serialized) struct DiskFullTests {
        static let fixtures = ModelDeliveryTests.models

        static func run(_ tool: String, _ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "\(tool) \(arguments)")
        }

        @Test(.enabled(if: getuid() == 0, "mounts a tmpfs")) func aFullDiskDelaysTheInstallButDoesNotStopIt()
            async throws
        {
            let fleet = try Fleet("disk-full")
            defer { fleet.cleanUp() }
            let models = fleet.root + "/agent-a/models"
            try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", models])
            defer { try? Self.run("/bin/umount", ["-l", models]) }
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            try fleet.startAgent("a", token: token.token)
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["a"] })
            func push(_ version: Int) async throws {
                _ = try await fleet.fleetctl([
                    "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version",
                    "\(version)", "--variant", "fp32", "--file",
                    "\(Self.fixtures)/digits-mlp-v\(version)-fp32.safetensors",
                ])
            }
            func installed() -> Data? {
                FileManager.default.contents(atPath: models + "/digits-mlp/current.safetensors")
            }
            let v1 = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/digits-mlp-v1-fp32.safetensors"))
            let v2 = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/digits-mlp-v2-fp32.safetensors"))
            try await push(1)
            #expect(try await eventually(timeout: .seconds(30)) { installed() == v1 })

            // 700 KiB of filler: v1 (200 KB) stays, v2's 200 KB no longer fit.
            let filler = models + "/filler"
            try Data(count: 700 * 1024).write(to: URL(fileURLWithPath: filler))
            try await push(2)
            let deviceID = try #require(try await fleet.devices().first?.id)
            var failure: Fleet.Event?
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    failure = try await fleet.events().first { $0.kind == "install_failed" && $0.device == deviceID }
                    return failure != nil
                }
            )
            let detail = failure?.detail ?? ""
            #expect(detail.contains("storage-error") && detail.contains("No space left on device"), "\(detail)")
            #expect(!detail.contains("reconstruction-failed"))
            let left = try FileManager.default.contentsOfDirectory(atPath: models + "/digits-mlp")
            #expect(!left.contains("current.safetensors.new") && !left.contains("pending.json"), "\(left)")
            #expect(installed() == v1, "v1 stays where applications read it")

            // Space comes back: the same process retries (after its 5 s pause) and installs v2.
            try FileManager.default.removeItem(atPath: filler)
            #expect(try await eventually(timeout: .seconds(45)) { installed() == v2 }, "\(fleet.summary)")
            await fleet.stopAll()
        }
    }
}
