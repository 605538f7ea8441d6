import Foundation
import Testing

/// `fleet-coordinator --blob-dir` (README, the coordinator's flags): the directory given once is recorded in the
/// data directory, so a restart without the flag still serves the fleet's model files, and a start that would lose
/// them (another --blob-dir, or a first --blob-dir for a directory that keeps its model files itself) is refused.
extension EndToEnd {
    @Suite(.serialized) struct BlobDirectoryTests {
        @Test func aRestartWithoutTheFlagKeepsServingModelFilesFromTheRecordedDirectory() async throws {
            let fleet = try Fleet("blob-dir")
            let blobs = fleet.root + "/shared-blobs"
            fleet.extraCoordinatorArguments = ["--blob-dir", blobs]
            try await fleet.startCoordinator()
            try await fleet.run { fleet in
                let base = RolloutTests()
                let token = try await fleet.createToken(uses: 1)
                _ = try await base.push(
                    fleet,
                    version: 1,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.97",
                    held: false
                )
                let modelFiles = try FileManager.default.subpathsOfDirectory(atPath: blobs)
                #expect(modelFiles.contains { $0.hasPrefix("blobs/sha256/") }, "\(modelFiles)")
                #expect(!FileManager.default.fileExists(atPath: fleet.coordinatorDirectory + "/blobs"))

                // Restarted without --blob-dir: an agent enrolling now installs v1 from the recorded directory.
                await fleet.coordinator?.terminate()
                fleet.extraCoordinatorArguments = []
                try await fleet.startCoordinator()
                try fleet.startAgent("b-1", token: token.token, extra: ["--capability", "ram=48MiB"])
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(fleet) == ["b-1": 1]
                } message: {
                    "the agent runs v1: \(await base.describe { try await base.versions(fleet) })"
                }
                #expect(!FileManager.default.fileExists(atPath: fleet.coordinatorDirectory + "/blobs"))

                // Another --blob-dir is refused, naming the recorded one.
                await fleet.stopAll()
                let elsewhere = try await runCommand(
                    "fleet-coordinator",
                    [
                        "--data-dir", fleet.coordinatorDirectory, "--listen", "127.0.0.1:0", "--blob-dir",
                        fleet.root + "/b",
                    ]
                )
                #expect(
                    elsewhere.status != 0 && elsewhere.stderr.contains("keeps its model files in \(blobs)"),
                    "\(elsewhere)"
                )
            }
        }

        @Test func aFirstBlobDirForADirectoryHoldingModelFilesIsRefused() async throws {
            let fleet = try Fleet("blob-dir-late")
            try await fleet.startCoordinator()
            try await fleet.run { fleet in
                _ = try await RolloutTests().push(
                    fleet,
                    version: 1,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.97",
                    held: false
                )
                await fleet.stopAll()
                let late = try await runCommand(
                    "fleet-coordinator",
                    [
                        "--data-dir", fleet.coordinatorDirectory, "--listen", "127.0.0.1:0", "--blob-dir",
                        fleet.root + "/b",
                    ]
                )
                #expect(
                    late.status != 0 && late.stderr.contains("holds this fleet's model files")
                        && late.stderr.contains("move blobs/"),
                    "\(late)"
                )
                #expect(!FileManager.default.fileExists(atPath: fleet.coordinatorDirectory + "/blob-directory.json"))
            }
        }
    }
}
