import FleetAgent
import FleetClient
import FleetCoordinator
import FleetStore
import FleetTrust
import Foundation
import Logging
import ServiceLifecycle

/// `fleetctl demo`: a throwaway coordinator on its embedded SQLite plus several agents, in one process,
/// showing enrolment, the fleet going online, a device going offline, and the event log.
public struct FleetDemo: Sendable {
    public var agents: Int
    public var dataDirectory: String
    public var heartbeat: Duration
    public var print: @Sendable (String) -> Void

    public init(
        agents: Int,
        dataDirectory: String,
        heartbeat: Duration = .milliseconds(500),
        print: @escaping @Sendable (String) -> Void
    ) {
        self.agents = agents
        self.dataDirectory = dataDirectory
        self.heartbeat = heartbeat
        self.print = print
    }

    public func run() async throws {
        var logger = Logger(label: "demo")
        logger.logLevel = .warning
        let coordinatorDirectory = dataDirectory + "/coordinator"
        let (bound, boundContinuation) = AsyncStream.makeStream(of: CoordinatorDataDirectory.Endpoint.self)
        let coordinator = CoordinatorService(
            configuration: CoordinatorConfiguration(
                dataDirectory: coordinatorDirectory,
                port: 0,
                heartbeatInterval: heartbeat,
                flushInterval: .milliseconds(200)
            ),
            logger: logger,
            onBound: { boundContinuation.yield($0) }
        )
        let coordinatorGroup = ServiceGroup(services: [coordinator], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { boundContinuation.finish() }
                try await coordinatorGroup.run()
            }
            var iterator = bound.makeAsyncIterator()
            guard let endpoint = await iterator.next() else { throw ControlError("coordinator did not start") }
            print(
                "▶ coordinator listening on 127.0.0.1:\(endpoint.port), state in \(coordinatorDirectory)/coordinator.sqlite"
            )

            let inspector = FleetInspector(
                target: CoordinatorTarget(
                    dataDirectory: coordinatorDirectory,
                    address: nil,
                    adminKeyPath: nil,
                    tls: nil
                )
            )
            // Regions are the administrator's to set: one enrolment token per region.
            let regions = ["eu", "us", "ap"]
            var tokens: [String] = []
            for region in regions {
                let token = try await inspector.createToken(
                    uses: agents,
                    expiresIn: .seconds(3600),
                    labels: ["fleet": "demo", "region": region]
                )
                print("▶ enrolment token \(token.id) for the devices of region \(region)")
                tokens.append(token.token)
            }

            let trainingFiles = try DemoData.splitDigits(into: dataDirectory, devices: agents)
            var agentGroups: [ServiceGroup] = []
            for index in 0..<agents {
                var configuration = AgentConfiguration(
                    dataDirectory: dataDirectory + "/agent-\(index + 1)",
                    coordinators: CoordinatorList(CoordinatorAddress(host: "127.0.0.1", port: endpoint.port)),
                    token: tokens[index % regions.count],
                    name: "edge-\(index + 1)",
                    capabilityOverrides: ["ram": index % 2 == 0 ? "512MiB" : "48MiB"]
                )
                configuration.trainingData = trainingFiles?.clients[index]
                let agent = AgentService(configuration: configuration, logger: logger)
                let group = ServiceGroup(services: [agent], logger: logger)
                agentGroups.append(group)
                tasks.addTask { try? await group.run() }
            }
            print("▶ started \(agents) agents; waiting for them to enrol and come online…")
            try await waitUntil(timeout: .seconds(20)) {
                try await inspector.devices().filter { $0.status == "online" }.count == agents
            }
            print("\n$ fleetctl devices --data-dir \(coordinatorDirectory)")
            print(Output.devicesTable(try await inspector.devices()))

            print("\n▶ each device's owner grants training consent (fleet-agent consent grant training)")
            for index in 0..<agents {
                let store = try AgentStore(path: dataDirectory + "/agent-\(index + 1)/agent.sqlite")
                let identity = try await AgentStateStore(store: store).loadOrCreateIdentity()
                try await AgentConsentBook(store: store, identity: identity).change(.training, action: .grant)
            }
            try await DemoModels(inspector: inspector, print: print, agents: agents).run(
                coordinatorDirectory: coordinatorDirectory,
                testFile: trainingFiles?.test
            )

            if let last = agentGroups.last {
                print(
                    "\n▶ stopping agent edge-\(agents): it says goodbye, and the coordinator marks it offline at once "
                        + "(a device that vanishes without one goes offline after its heartbeat timeout)…"
                )
                await last.triggerGracefulShutdown()
                try await waitUntil(timeout: .seconds(20)) {
                    try await inspector.devices().contains { $0.name == "edge-\(agents)" && $0.status == "offline" }
                }
                print(Output.devicesTable(try await inspector.devices()))
            }

            print("\n$ fleetctl events --data-dir \(coordinatorDirectory)")
            print(Output.eventsTable(try await inspector.events(deviceID: nil, limit: 20)))

            for group in agentGroups { await group.triggerGracefulShutdown() }
            await coordinatorGroup.triggerGracefulShutdown()
            boundContinuation.finish()
            try await tasks.waitForAll()
        }
        print("\n✔ demo finished; its state stays in \(dataDirectory) for inspection")
    }

    private func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ControlError("demo timed out waiting for the fleet")
    }
}
