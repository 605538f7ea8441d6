import FleetClient
import FleetTrust
import FleetWire
import Foundation
import NIOCore
import Testing

/// Leaves (`fleet-tiny-sim`: FleetTinyKit on the host) behind a gateway `fleet-agent --leaf-listen`, with a real
/// coordinator: each leaf is its own device with `gateway` set, receives models through the gateway's cache, and
/// cannot be impersonated by what sits between it and the coordinator.
extension EndToEnd {
    @Suite(.serialized) struct GatewayLeavesTests {
        struct LeafDevice: Decodable {
            struct Model: Decodable {
                var name: String
                var version: Int
                var variant: String
            }
            var id: String
            var name: String
            var status: String
            var gateway: String?
            var capabilities: [String: String]
            var installedModels: [Model]
        }

        static let fixtures = ModelDeliveryTests.models

        func leaves(_ fleet: Fleet) async throws -> [LeafDevice] {
            try await JSONDecoder().decode(
                [LeafDevice].self,
                from: Data(fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
            ).filter { $0.name.hasPrefix("leaf-") }
        }

        /// `fleetctl model push digits-mlp` of the fixture file of `version` and `variant`, with `extra` arguments
        /// (`--metered`).
        func push(
            _ fleet: Fleet,
            version: Int,
            variant: String,
            minimumRAM: String,
            extra: [String] = []
        ) async throws {
            _ = try await fleet.fleetctl(
                [
                    "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "\(version)",
                    "--variant", variant, "--min-ram", minimumRAM,
                    "--file", "\(Self.fixtures)/digits-mlp-v\(version)-\(variant).safetensors",
                ] + extra
            )
        }

        /// The coordinator's `transfer` log lines (one per fetchModel it serves) for this version and variant that
        /// send the payload from its start, except the fetches of the device `except` (the gateway's own agent,
        /// which may run the same variant). A gateway's fetch resumed at the last byte to check a leaf's assignment
        /// (SPEC 15b.4) is not a download.
        func downloads(_ fleet: Fleet, version: Int, variant: String, except: String) -> [Substring] {
            (fleet.coordinator?.log ?? "").split(separator: "\n").filter {
                $0.contains("transfer") && $0.contains("digits-mlp v\(version) \(variant)") && !$0.contains(except)
                    && $0.contains("from=0")
            }
        }

        /// A gateway agent enrolled and online, listening for leaves on the returned port.
        func startGateway(_ fleet: Fleet) async throws -> (id: String, leafPort: Int) {
            let leafPort = try freeLoopbackPort()
            let token = try await fleet.createToken()
            try fleet.startAgent("gateway", token: token.token, extra: ["--leaf-listen", "127.0.0.1:\(leafPort)"])
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().contains("gateway") })
            let id = try #require(try await fleet.devices().first { $0.name == "gateway" }?.id)
            return (id, leafPort)
        }

        func startLeaves(
            _ fleet: Fleet,
            port: Int,
            token: String,
            count: Int,
            name: String = "sim"
        ) throws -> FleetProcess {
            try FleetProcess(
                "fleet-tiny-sim",
                [
                    "--gateway", "127.0.0.1:\(port)", "--token", token, "--count", "\(count)",
                    "--state-dir", fleet.root + "/leaves",
                ],
                logDirectory: fleet.root,
                name: name
            )
        }

        @Test func twoHundredLeavesBehindOneGatewayOneDownloadPerVersion() async throws {
            let count = 200
            let fleet = try Fleet("leaves")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            // The leaves start first and retry until the gateway's leaf port listens.
            let leafPort = try freeLoopbackPort()
            let token = try await fleet.createToken(uses: count)
            let sim = try FleetProcess(
                "fleet-tiny-sim",
                [
                    "--gateway", "127.0.0.1:\(leafPort)", "--token", token.token, "--count", "\(count)",
                    "--state-dir", fleet.root + "/leaves",
                ],
                logDirectory: fleet.root,
                name: "sim"
            )
            let gatewayToken = try await fleet.createToken()
            try fleet.startAgent(
                "gateway",
                token: gatewayToken.token,
                extra: ["--leaf-listen", "127.0.0.1:\(leafPort)"]
            )
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().contains("gateway") })
            let gatewayID = try #require(try await fleet.devices().first { $0.name == "gateway" }?.id)

            let allOnline = try await eventually(timeout: .seconds(180), every: .seconds(1)) {
                let leaves = try await leaves(fleet)
                return leaves.count == count && leaves.allSatisfy { $0.status == "online" && $0.gateway == gatewayID }
            }
            let online = await (try? leaves(fleet).filter { $0.status == "online" }.count) ?? 0
            try #require(allOnline, "\(online) of \(count) leaves online behind the gateway")
            let leaf = try await #require(try leaves(fleet).first)
            #expect(leaf.capabilities["class"] == "mcu" && leaf.capabilities["arch"] == "armv7em")
            await #expect(Set(try leaves(fleet).map(\.id)).count == count, "each leaf has its own identity")
            #expect(try await fleet.devices().first { $0.name == "gateway" } != nil)

            // fp32 needs more RAM than a leaf reports (256 KiB): leaves get int8, the gateway (a Linux box) fp32.
            for version in [1, 2] {
                try await push(fleet, version: version, variant: "fp32", minimumRAM: "64MiB")
                try await push(fleet, version: version, variant: "int8", minimumRAM: "64KiB")
                let updated = try await eventually(timeout: .seconds(180), every: .seconds(1)) {
                    try await leaves(fleet).allSatisfy { leaf in
                        leaf.installedModels.contains {
                            $0.name == "digits-mlp" && $0.version == version && $0.variant == "int8"
                        }
                    }
                }
                let done = try await leaves(fleet).filter { $0.installedModels.contains { $0.version == version } }
                    .count
                #expect(updated, "\(done) of \(count) leaves report digits-mlp v\(version) int8")
                let served = downloads(fleet, version: version, variant: "int8", except: gatewayID)
                #expect(served.count == 1, "one download of v\(version) int8 from the coordinator for \(count) leaves")
                // v1 in full; v2 as a delta against v1 (the leaves' flash installer applies stream-mode deltas).
                #expect(served.first?.contains(version == 1 ? "encoding=full" : "encoding=delta") == true, "\(served)")
            }
            // Each leaf checked and stored the very file the coordinator published.
            let published = try Data(
                contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/digits-mlp-v2-int8.safetensors")
            )
            for index in [0, count / 2, count - 1] {
                let stored = FileManager.default.contents(
                    atPath: "\(fleet.root)/leaves/leaf-\(index)/model.safetensors"
                )
                #expect(stored == published, "leaf-\(index) holds v2 int8")
            }
            await sim.terminate()
            await fleet.stopAll()
        }

        /// The gateway (or anything between a leaf and the coordinator) cannot answer a leaf's challenge: an altered
        /// signature and a signature replayed from an earlier connection are both refused with 201, and the leaf
        /// stays offline; untouched, the same leaf authenticates again.
        @Test func aRelayThatAltersOrReplaysTheLeafSignatureFailsAuthentication() async throws {
            let fleet = try Fleet("leaf-tamper")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let gateway = try await startGateway(fleet)
            let relay = try await TamperingRelay()
            let relaying = Task { try await relay.run(gatewayPort: gateway.leafPort) }
            defer { relaying.cancel() }
            let token = try await fleet.createToken()

            func leafStatus() async throws -> LeafDevice? { try await leaves(fleet).first }
            // Enrol, then authenticate once untouched (the relay remembers that signature), each time online.
            for phase in ["enrol", "authenticate"] {
                let sim = try startLeaves(fleet, port: relay.port, token: token.token, count: 1, name: "sim-\(phase)")
                let online = try await eventually(timeout: .seconds(30)) {
                    try await leafStatus()?.status == "online"
                        && sim.log.contains(phase == "enrol" ? "enrolled" : "authenticated")
                }
                #expect(online, "\(phase): \(sim.log)")
                await #expect(try leafStatus()?.gateway == gateway.id)
                await sim.terminate()
                #expect(try await eventually(timeout: .seconds(10)) { try await leafStatus()?.status == "offline" })
            }
            for mode in [TamperingRelay.Mode.replaySignature, .flipSignature] {
                relay.set(mode)
                let before = relay.tamperedCount
                let sim = try startLeaves(fleet, port: relay.port, token: token.token, count: 1, name: "sim-\(mode)")
                let refused = try await eventually(timeout: .seconds(30)) { sim.log.contains("coordinator error 201") }
                #expect(refused, "\(mode): the coordinator refuses the leaf's altered signature: \(sim.log)")
                #expect(relay.tamperedCount > before)
                #expect(!sim.log.contains("authenticated"), "\(mode): never welcomed")
                await #expect(try leafStatus()?.status == "offline")
                await sim.terminate()
            }
            relay.set(.pass)
            let honest = try startLeaves(fleet, port: relay.port, token: token.token, count: 1, name: "sim-honest")
            #expect(
                try await eventually(timeout: .seconds(30)) { try await leafStatus()?.status == "online" },
                "\(honest.log)"
            )
            await honest.terminate()
            await fleet.stopAll()
        }

        /// With a TLS coordinator, the gateway opens each leaf's connection over TLS (verified with its --ca-file):
        /// the leaves speak plain frames to the gateway and still come online.
        @Test func leavesReachATLSCoordinatorThroughTheGateway() async throws {
            let fleet = try Fleet("leaf-tls")
            defer { fleet.cleanUp() }
            let (certificatePath, keyPath) = try makeSelfSignedCertificate(in: fleet.root)
            fleet.extraCoordinatorArguments = ["--tls-cert", certificatePath, "--tls-key", keyPath]
            try await fleet.startCoordinator()
            let leafPort = try freeLoopbackPort()
            let token = try await fleet.createToken()
            try fleet.startAgent(
                "gateway",
                token: token.token,
                extra: ["--ca-file", certificatePath, "--leaf-listen", "127.0.0.1:\(leafPort)"]
            )
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().contains("gateway") })
            let gatewayID = try #require(try await fleet.devices().first { $0.name == "gateway" }?.id)
            let before = try await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory])
            #expect(!before.contains("GATEWAY"), "no GATEWAY column while no device has a gateway: \(before)")
            let leafToken = try await fleet.createToken(uses: 3)
            let sim = try startLeaves(fleet, port: leafPort, token: leafToken.token, count: 3)
            let online = try await eventually(timeout: .seconds(60)) {
                let leaves = try await leaves(fleet)
                return leaves.count == 3 && leaves.allSatisfy { $0.status == "online" && $0.gateway == gatewayID }
            }
            #expect(online, "\(sim.log)")
            // The table names each leaf's gateway in a GATEWAY column; the gateway itself has none ("-").
            let table = try await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory])
            let lines = table.split(separator: "\n")
            #expect(lines.first?.hasSuffix("GATEWAY") == true, "\(table)")
            #expect(lines.filter { $0.contains("leaf-") && $0.hasSuffix("  gateway") }.count == 3, "\(table)")
            #expect(lines.contains { $0.hasPrefix(gatewayID) && $0.hasSuffix("  -") }, "\(table)")
            let shown = try await fleet.fleetctl(["device", "show", "leaf-0", "--data-dir", fleet.coordinatorDirectory])
            #expect(shown.contains("Gateway:       gateway (\(gatewayID))"), "\(shown)")
            await sim.terminate()
            await fleet.stopAll()
        }

        /// Only the gateway vouches for a connection: a leaf that sends a gatewayClaim itself is disconnected by the
        /// gateway before anything reaches the coordinator's credentials check.
        @Test func aLeafThatSendsAGatewayClaimIsDisconnected() async throws {
            let fleet = try Fleet("leaf-claim")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let gateway = try await startGateway(fleet)
            let log = AnswerLog()
            let channel = try await RawClients.open(port: gateway.leafPort, sending: RawClients.hello(), log: log)
            let accepted = try await eventually(timeout: .seconds(10)) {
                log.all.contains { if case .helloAccept = $0 { true } else { false } }
            }
            try #require(accepted, "the gateway relays hello and helloAccept: \(log.all)")
            guard case .helloAccept(let accept) = log.all.first(where: { $0.type == .helloAccept }) else { return }
            let claim = GatewayClaim(
                gatewayID: gateway.id,
                nonce: accept.nonce,
                signature: Array(repeating: 0, count: 64)
            )
            try await channel.writeAndFlush(Message.gatewayClaim(claim).encodedFrame())
            let closed = try await eventually(timeout: .seconds(10)) { !channel.isActive }
            #expect(closed, "the gateway closed the leaf")
            // Closed by the gateway, not by the coordinator (which would have sent an error first, e.g. 105 when
            // its handshake timer ran out waiting for credentials).
            #expect(log.errors.isEmpty, "\(log.all)")
            #expect(try await fleet.devices().count == 1, "nothing enrolled")
            await fleet.stopAll()
        }

        /// The gateway's payload cache serves only what the coordinator answers each leaf: a leaf that is not
        /// assigned digits-mlp (it reports 16 KiB of RAM, below the variant's 64 KiB) asks the gateway for the very
        /// payload another leaf just installed through it, and gets the coordinator's 302 and not one byte of it.
        @Test func aLeafNotAssignedAModelGetsNoByteOfItFromTheGatewaysCache() async throws {
            let fleet = try Fleet("leaf-cache-assignment")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let gateway = try await startGateway(fleet)
            let token = try await fleet.createToken(uses: 2)
            let sim = try startLeaves(fleet, port: gateway.leafPort, token: token.token, count: 1)
            try await push(fleet, version: 1, variant: "int8", minimumRAM: "64KiB")
            let installed = try await eventually(timeout: .seconds(90), every: .seconds(1)) {
                try await leaves(fleet).first?.installedModels.contains { $0.version == 1 && $0.variant == "int8" }
                    == true
            }
            try #require(installed, "leaf-0 installed v1 int8 through the gateway (now in its cache): \(sim.log)")

            let identity = DeviceIdentity.generate()
            let address = CoordinatorAddress(host: "127.0.0.1", port: gateway.leafPort)
            let answers = try await FleetConnection.withConnection(to: address, tls: nil) { connection in
                let accept = try await connection.hello(role: .device, software: "raw-leaf")
                _ = try await connection.enrol(
                    token: token.token,
                    identity: identity,
                    nonce: accept.nonce,
                    name: "leaf-unassigned",
                    labels: [:],
                    capabilities: ["arch": "armv7em", "class": "mcu", "ram": "16384", "flash": "2097152"],
                    software: "raw-leaf"
                )
                // Exactly what leaf-0 asked for (no base: nothing installed), so the gateway's cache holds it.
                let fetch = FetchModel(
                    requestID: 77,
                    model: "digits-mlp",
                    version: 1,
                    variant: "int8",
                    baseSHA256: [],
                    resumePayloadSHA256: [],
                    resumeOffset: 0
                )
                try await connection.send(.fetchModel(fetch))
                var seen: [Message] = []
                while let message = try await connection.next() {
                    seen.append(message)
                    if case .error(let error) = message, error.requestID == 77 { break }
                    if case .transferChunk = message { break }
                }
                return seen
            }
            let payload = answers.filter {
                if case .transferStart = $0 { return true }
                if case .transferChunk = $0 { return true }
                return false
            }
            #expect(payload.isEmpty, "no byte of the payload: \(payload)")
            let refusal = answers.compactMap { if case .error(let error) = $0 { error } else { nil } }.first
            #expect(refusal?.code == .conflict, "the coordinator's refusal reaches the leaf: \(answers)")
            await sim.terminate()
            await fleet.stopAll()
        }
    }
}
