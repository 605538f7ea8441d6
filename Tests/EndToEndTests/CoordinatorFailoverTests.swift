import Foundation
import PostgresTestSupport
import Testing

/// Agents with several coordinators (issue 12, item 2, first point): `--coordinator a:7420,b:7420` moves to the
/// next coordinator when a session fails or ends, and HAProxy in TCP mode in front of the coordinators works too.
/// Real processes, a real PostgreSQL, a real HAProxy (Debian's `haproxy`).
extension EndToEnd {
    @Suite(.serialized) struct CoordinatorFailoverTests {
        /// The first coordinator of the list does not answer: the agent enrols through the second, and a restart
        /// without `--coordinator` uses the saved list.
        @Test func anAgentEnrolsThroughTheNextCoordinatorWhenTheFirstDoesNotAnswer() async throws {
            let fleet = try Fleet("failover-list")
            try await fleet.startCoordinator()
            try await fleet.run { fleet in
                let token = try await fleet.createToken()
                let nobody = try freeLoopbackPort()
                let list = "127.0.0.1:\(nobody),127.0.0.1:\(fleet.port)"
                let agent = try fleet.startAgent("l-1", token: token.token, coordinators: list)
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["l-1"]
                } message: {
                    "the agent enrols through the second coordinator: \(fleet.summary)\n\(agent.log)"
                }
                #expect(agent.log.contains("moving to the next coordinator"), "\(agent.log)")
                let status = try await runCommand(
                    "fleet-agent",
                    ["status", "--data-dir", fleet.root + "/agent-l-1", "--json"]
                )
                #expect(status.stdout.contains(list), "the list is saved: \(status)")

                // Restarted without --coordinator: the saved list, the dead address first again, and online.
                await agent.terminate()
                try await expectEventually(timeout: .seconds(30)) {
                    try await fleet.onlineNames().isEmpty
                } message: {
                    "the agent is offline once stopped: \(fleet.summary)"
                }
                let again = try fleet.startAgent("l-1", token: nil, coordinators: "")
                try await expectEventually(timeout: .seconds(60)) {
                    try await fleet.onlineNames() == ["l-1"]
                } message: {
                    "online again with the saved list: \(fleet.summary)\n\(again.log)"
                }
                #expect(try await fleet.events().filter { $0.kind == "enrolled" }.count == 1)
            }
        }

        /// Two coordinators on one PostgreSQL database, sharing a `--blob-dir`; the second starts with an empty data
        /// directory and gets the fleet's secrets from the database. Two agents list both coordinators; a third
        /// reaches them through HAProxy (TCP mode, health checks). The first coordinator is killed with `kill -9`:
        /// all three come online on the second, and a version pushed there reaches them as a delta.
        @Test func agentsMoveToTheOtherCoordinatorWhenOneIsKilled() async throws {
            let (url, _) = try await PostgresTestCluster.shared.freshDatabase()
            let first = try Fleet("failover-a")
            let blobs = first.root + "/shared-blobs"
            let shared = ["--database", url.description, "--blob-dir", blobs]
            first.extraCoordinatorArguments = shared
            try await first.startCoordinator()
            let second = try Fleet("failover-b")
            second.extraCoordinatorArguments = shared
            let secondPort = try freeLoopbackPort()
            let proxyPort = try freeLoopbackPort()
            let proxy = try HAProxy(root: first.root, listen: proxyPort, servers: [first.port, secondPort])
            try await first.run { first in
                let base = RolloutTests()
                let token = try await first.createToken(uses: 3)
                let list = "127.0.0.1:\(first.port),127.0.0.1:\(secondPort)"
                try first.startAgent("f-1", token: token.token, coordinators: list)
                try first.startAgent("f-2", token: token.token, coordinators: list)
                try first.startAgent("f-3", token: token.token, coordinators: "127.0.0.1:\(proxyPort)")
                let names: Set<String> = ["f-1", "f-2", "f-3"]
                try await expectEventually(timeout: .seconds(60)) {
                    try await first.onlineNames() == names
                } message: {
                    "three agents online on the first coordinator: \(first.summary)\n\(proxy.log)"
                }
                let pushed = try await base.push(
                    first,
                    version: 1,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.973",
                    held: false
                )
                #expect(pushed.assignedDevices == 3)
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(first) == ["f-1": 1, "f-2": 1, "f-3": 1]
                } message: {
                    "all run v1: \(await base.describe { try await base.versions(first) })"
                }
                let modelFiles = try FileManager.default.subpathsOfDirectory(atPath: blobs)
                #expect(
                    modelFiles.contains { $0.hasPrefix("blobs/sha256/") },
                    "the model is in --blob-dir: \(modelFiles)"
                )

                // The second coordinator, on an empty data directory: the fleet's secrets come from the database.
                try await second.startCoordinator(port: secondPort)
                for key in ["admin.key", "release.key", "model-protection.key"] {
                    let mine = FileManager.default.contents(atPath: first.coordinatorDirectory + "/" + key)
                    let theirs = FileManager.default.contents(atPath: second.coordinatorDirectory + "/" + key)
                    #expect(mine != nil && mine == theirs, "\(key) is the fleet's on both coordinators")
                    let mode =
                        try FileManager.default.attributesOfItem(atPath: second.coordinatorDirectory + "/" + key)[
                            .posixPermissions
                        ] as? Int
                    #expect(mode == 0o600, "\(key) is private: \(String(mode ?? 0, radix: 8))")
                }
                // A data directory of another fleet is refused on this database, with what to do.
                let other = first.root + "/other-fleet"
                try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
                let created = FileManager.default.createFile(
                    atPath: other + "/admin.key",
                    contents: Data((0..<32).map { _ in UInt8.random(in: 0...255) }),
                    attributes: [.posixPermissions: 0o600]
                )
                #expect(created)
                let refused = try await runCommand(
                    "fleet-coordinator",
                    ["--data-dir", other, "--listen", "127.0.0.1:0", "--database", url.description]
                )
                #expect(
                    refused.status != 0 && refused.stderr.contains("belongs to another fleet")
                        && refused.stderr.contains("empty --data-dir"),
                    "\(refused)"
                )

                first.coordinator?.kill9()
                try await expectEventually(timeout: .seconds(60)) {
                    try await second.onlineNames() == names
                } message: {
                    "all three online on the second coordinator: \(second.summary)\n\(proxy.log)"
                }
                for name in ["f-1", "f-2"] {
                    let log = first.agents[name]?.log ?? ""
                    #expect(log.contains("moving to the next coordinator"), "\(name): \(log)")
                }

                // A version pushed through the second coordinator reaches the agents that moved to it, as a delta
                // from v1's file, which the first coordinator wrote to the shared --blob-dir.
                _ = try await base.push(
                    second,
                    version: 2,
                    variant: "int8",
                    minRam: "32MiB",
                    accuracy: "0.975",
                    held: false
                )
                try await expectEventually(timeout: .seconds(90)) {
                    try await base.versions(second) == ["f-1": 2, "f-2": 2, "f-3": 2]
                } message: {
                    "all run v2: \(await base.describe { try await base.versions(second) })"
                }
                let transfers = try await second.fleetctl(
                    ["transfers", "--data-dir", second.coordinatorDirectory, "--json"]
                )
                let encodings = try JSONDecoder().decode([Encoding].self, from: Data(transfers.utf8))
                    .filter { $0.version == 2 }.map(\.encoding)
                #expect(encodings.count == 3 && encodings.allSatisfy { $0.contains("delta") }, "\(transfers)")
                #expect(try await first.events().filter { $0.kind == "enrolled" }.count == 3)
                await second.stopAll()
            }
            await proxy.stop()
            second.cleanUp()
            try await PostgresTestCluster.shared.drop(url)
        }

        struct Encoding: Decodable {
            var version: Int
            var encoding: String
        }
    }
}

/// Debian's HAProxy in TCP mode in front of coordinators on loopback, as the README's recipe configures it: health
/// checks, and a connection that fails is dispatched to another server.
final class HAProxy: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    let process: FleetProcess

    init(root: String, listen: Int, servers: [Int]) throws {
        let configuration = root + "/haproxy.cfg"
        try Self.configuration(listen: listen, servers: servers).write(
            toFile: configuration,
            atomically: true,
            encoding: .utf8
        )
        process = try FleetProcess(
            "/usr/sbin/haproxy",
            ["-db", "-f", configuration],
            logDirectory: root,
            name: "haproxy"
        )
    }

    var log: String { "haproxy: " + process.log }

    func stop() async { await process.terminate() }

    static func configuration(listen: Int, servers: [Int]) -> String {
        """
        defaults
            mode tcp
            timeout connect 2s
            timeout client 1h
            timeout server 1h
            retries 2
            option redispatch
        listen tinyfleet
            bind 127.0.0.1:\(listen)
            balance roundrobin
        \(servers.enumerated().map { "    server c\($0.offset) 127.0.0.1:\($0.element) check inter 1s fall 2 rise 1" }.joined(separator: "\n"))

        """
    }
}
