import Foundation
import Testing

/// Local secrets with the real executables: data directories that already exist with mode 0755 (as systemd's
/// `StateDirectory=` creates them) are made 0700, every database (with its -wal and -shm) and key file is 0600,
/// and a secret that group or others may read, or a symbolic link, stops the program with the fix in the message.
extension EndToEnd {
    @Suite(.serialized) struct PrivateDataTests {
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, "\(path)")
        }

        /// Starts `executable` and expects it to exit non-zero with `expected` in its output.
        func expectRefusal(
            _ fleet: Fleet,
            _ executable: String,
            _ arguments: [String],
            mentioning expected: [String]
        ) async throws {
            let process = try FleetProcess(
                executable,
                arguments,
                logDirectory: fleet.root,
                name: "refused-\(UUID().uuidString.prefix(4))"
            )
            let status = await process.waitForExit(timeout: .seconds(20))
            if status == nil { await process.terminate() }
            #expect(status != nil && status != 0, "\(executable) refused to start: \(process.log)")
            for text in expected {
                #expect(process.log.contains(text), "\(executable) says \(text): \(process.log)")
            }
        }

        @Test func secretsArePrivateFromTheFirstStartAndSharedOnesAreRefused() async throws {
            let fleet = try Fleet("private-data")
            defer { fleet.cleanUp() }
            let agentDirectory = fleet.root + "/agent-cam"
            let socketDirectory = fleet.root + "/run"
            for directory in [fleet.coordinatorDirectory, agentDirectory] {
                try FileManager.default.createDirectory(
                    atPath: directory,
                    withIntermediateDirectories: false,
                    attributes: [.posixPermissions: 0o755]
                )
                #expect(try mode(directory) == 0o755)
            }
            do {
                try await fleet.startCoordinator()
                // The applications' socket in a directory others may enter: it still appears there with mode 0600.
                try FileManager.default.createDirectory(
                    atPath: socketDirectory,
                    withIntermediateDirectories: false,
                    attributes: [.posixPermissions: 0o755]
                )
                try fleet.startAgent(
                    "cam",
                    token: try await fleet.createToken().token,
                    extra: ["--local-socket", socketDirectory + "/agent.sock"]
                )
                let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames() == ["cam"] }
                try #require(online, "the agent came online: \(fleet.summary)")
                let listening = try await eventually(timeout: .seconds(20)) {
                    FileManager.default.fileExists(atPath: socketDirectory + "/agent.sock")
                }
                try #require(listening, "the local socket is up")
                #expect(try mode(socketDirectory + "/agent.sock") == 0o600)
                #expect(
                    try FileManager.default.contentsOfDirectory(atPath: socketDirectory) == ["agent.sock"],
                    "bound in a private staging directory, moved into place, the staging directory removed"
                )
            } catch {
                return try await fleet.stopAll(after: error)
            }
            await fleet.stopAll()

            #expect(try mode(fleet.coordinatorDirectory) == 0o700)
            #expect(try mode(agentDirectory) == 0o700)
            let coordinatorDatabase = fleet.coordinatorDirectory + "/coordinator.sqlite"
            let agentDatabase = agentDirectory + "/agent.sqlite"
            let secrets =
                [coordinatorDatabase, agentDatabase].flatMap { [$0, $0 + "-wal", $0 + "-shm"] }
                + [fleet.coordinatorDirectory + "/admin.key", fleet.coordinatorDirectory + "/release.key"]
            for path in secrets {
                #expect(try mode(path) == 0o600, "\(path)")
            }

            // The agent's database (its identity key) readable by others: the agent refuses to start.
            let agentArguments = ["--data-dir", agentDirectory, "--coordinator", "127.0.0.1:\(fleet.port)"]
            #expect(chmod(agentDatabase + "-wal", 0o644) == 0)
            try await expectRefusal(
                fleet,
                "fleet-agent",
                agentArguments,
                mentioning: ["chmod 600 \(agentDatabase)-wal", "identity key"]
            )
            #expect(chmod(agentDatabase + "-wal", 0o600) == 0)

            // The admin credential readable by others: the coordinator and fleetctl refuse it.
            let adminKey = fleet.coordinatorDirectory + "/admin.key"
            let coordinatorArguments = ["--data-dir", fleet.coordinatorDirectory, "--listen", "127.0.0.1:0"]
            #expect(chmod(adminKey, 0o640) == 0)
            try await expectRefusal(
                fleet,
                "fleet-coordinator",
                coordinatorArguments,
                mentioning: ["\(adminKey) has mode 0640", "chmod 600 \(adminKey)"]
            )
            let token = try await runCommand("fleetctl", ["token", "create", "--data-dir", fleet.coordinatorDirectory])
            #expect(token.status != 0 && token.stderr.contains("chmod 600 \(adminKey)"), "\(token.stderr)")

            // A symbolic link in place of a secret: refused, even when it points to a private file.
            let copy = fleet.root + "/admin-copy.key"
            #expect(chmod(adminKey, 0o600) == 0)
            try FileManager.default.moveItem(atPath: adminKey, toPath: copy)
            try FileManager.default.createSymbolicLink(atPath: adminKey, withDestinationPath: copy)
            try await expectRefusal(
                fleet,
                "fleet-coordinator",
                coordinatorArguments,
                mentioning: ["\(adminKey) is a symbolic link"]
            )
        }
    }
}
