import Foundation
import Testing

/// Model delivery with real processes: variants chosen by capability, v2 delivered as deltas and rebuilt
/// bit-exactly, a transfer resumed after `kill -9`, a tampered blob and a replayed older manifest refused.
extension EndToEnd {
    @Suite(.serialized) struct ModelDeliveryTests {
        static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FleetDeltaTests/Fixtures").path

        struct Status: Decodable {
            struct Installed: Decodable {
                var model: String
                var version: Int
                var variant: String
                var path: String
                var sha256: String
            }
            struct Transfer: Decodable {
                var model: String
                var version: Int
                var receivedBytes: Int
                var totalBytes: Int
            }
            var installed: [Installed]
            var transfers: [Transfer]
        }

        struct TransferRecord: Decodable {
            var deviceID: String
            var version: Int
            var variant: String
            var encoding: String
            var wireBytes: Int
            var fullBytes: Int
            var resumedFrom: Int
        }

        struct DeviceDetail: Decodable {
            struct Assignment: Decodable {
                var model: String
                var version: Int?
                var variant: String?
                var reason: String
            }
            var id: String
            var assignments: [Assignment]?
        }

        func push(_ fleet: Fleet, version: Int, variant: String, accuracy: String, minRam: String) async throws {
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "\(version)",
                "--variant", variant, "--file", "\(Self.models)/digits-mlp-v\(version)-\(variant).safetensors",
                "--accuracy", accuracy, "--min-ram", minRam, "--json",
            ])
        }

        func status(_ fleet: Fleet, _ name: String) async throws -> Status {
            let output = try await runCommand(
                "fleet-agent",
                ["status", "--data-dir", fleet.root + "/agent-\(name)", "--json"]
            )
            return try JSONDecoder().decode(Status.self, from: Data(output.stdout.utf8))
        }

        func installed(_ fleet: Fleet, _ name: String) async -> (Int, String)? {
            guard let model = await (try? status(fleet, name))?.installed.first(where: { $0.model == "digits-mlp" })
            else {
                return nil
            }
            return (model.version, model.variant)
        }

        func transfers(_ fleet: Fleet) async throws -> [TransferRecord] {
            try await JSONDecoder().decode(
                [TransferRecord].self,
                from: Data(fleet.fleetctl(["transfers", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
            )
        }

        @Test func variantsDeltasResumeAndRefusals() async throws {
            let fleet = try Fleet("models")
            defer { fleet.cleanUp() }
            // A slow link, so that a transfer can be interrupted mid-way.
            fleet.extraCoordinatorArguments = ["--transfer-rate-limit", "48KiB", "--transfer-chunk-size", "4096"]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken(uses: 6)
            let big = ["big-1", "big-2", "big-3"]
            let small = ["small-1", "small-2"]
            for name in big { try fleet.startAgent(name, token: token.token, extra: ["--capability", "ram=1GiB"]) }
            for name in small { try fleet.startAgent(name, token: token.token, extra: ["--capability", "ram=48MiB"]) }
            try fleet.startAgent("tiny", token: token.token, extra: ["--capability", "ram=16MiB"])
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 6 })

            // v1: fp32 needs 128 MiB, int8 32 MiB. Big devices take fp32 first and keep it (int8 is only 0.2 points
            // better, not worth a full download); small ones take int8; the tiny one fits neither and says so.
            try await push(fleet, version: 1, variant: "fp32", accuracy: "0.971", minRam: "128MiB")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await big.allSatisfy { await installed(fleet, $0)?.0 == 1 }
                }
            )
            try await push(fleet, version: 1, variant: "int8", accuracy: "0.973", minRam: "32MiB")
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await small.allSatisfy { await installed(fleet, $0)?.0 == 1 }
                }
            )
            for name in big { await #expect(installed(fleet, name)?.1 == "fp32", "\(name) runs fp32") }
            for name in small { await #expect(installed(fleet, name)?.1 == "int8", "\(name) runs int8") }
            let tiny = try await JSONDecoder().decode(
                DeviceDetail.self,
                from: Data(
                    fleet.fleetctl(["device", "show", "tiny", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(tiny.assignments?.first?.version == nil)
            #expect(tiny.assignments?.first?.reason.contains("no variant fits") == true)
            await #expect(installed(fleet, "tiny") == nil)

            // v2: every device gets a delta. big-3 is killed mid-transfer and resumes from its offset.
            try await push(fleet, version: 2, variant: "fp32", accuracy: "0.980", minRam: "128MiB")
            try await push(fleet, version: 2, variant: "int8", accuracy: "0.978", minRam: "32MiB")
            var interruptedAt = 0
            let caught = try await eventually(timeout: .seconds(30), every: .milliseconds(20)) {
                guard let transfer = try? await status(fleet, "big-3").transfers.first, transfer.version == 2,
                    transfer.receivedBytes > 0, transfer.receivedBytes < transfer.totalBytes
                else { return false }
                interruptedAt = transfer.receivedBytes
                return true
            }
            #expect(caught, "caught big-3 mid-transfer")
            fleet.agents["big-3"]?.kill9()
            let journal = try await status(fleet, "big-3").transfers.first
            #expect((journal?.receivedBytes ?? 0) >= interruptedAt, "the journal kept the progress across kill -9")
            try fleet.startAgent("big-3", token: nil)
            let all = big + small
            #expect(
                try await eventually(timeout: .seconds(90)) {
                    await all.allSatisfy { await installed(fleet, $0)?.0 == 2 }
                }
            )

            let records = try await transfers(fleet)
            let devices = try await fleet.devices()
            for name in all {
                let id = try #require(devices.first { $0.name == name }?.id)
                let v2 = try #require(
                    records.last { $0.deviceID == id && $0.version == 2 },
                    "\(name) has a v2 transfer"
                )
                #expect(v2.encoding == "delta", "\(name) received a delta")
                #expect(v2.wireBytes < v2.fullBytes, "\(name): \(v2.wireBytes) bytes < full compressed \(v2.fullBytes)")
                // Rebuilt bit-exactly: the installed file is the published one.
                let status = try await status(fleet, name)
                let path = try #require(status.installed.first?.path)
                let expected = try Data(
                    contentsOf: URL(fileURLWithPath: "\(Self.models)/digits-mlp-v2-\(v2.variant).safetensors")
                )
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected, "\(name) runs the exact v2 file")
            }
            let bigThree = try #require(devices.first { $0.name == "big-3" }?.id)
            let resumed = try #require(records.last { $0.deviceID == bigThree && $0.version == 2 })
            #expect(
                resumed.resumedFrom >= interruptedAt && resumed.resumedFrom > 0,
                "resumed at \(resumed.resumedFrom), seen \(interruptedAt)"
            )
            print("big-3 interrupted at byte \(interruptedAt), resumed from byte \(resumed.resumedFrom)")

            // A replayed older manifest: pinning small-1 to v1 re-sends the v1 release manifest; the agent refuses it.
            let smallOne = try #require(devices.first { $0.name == "small-1" }?.id)
            // fleetctl waits for the answer and exits 1: the only device concerned refused the pin.
            let pinned = try await runCommand(
                "fleetctl",
                [
                    "model", "pin", "digits-mlp", "--version", "1", "--device", smallOne, "--data-dir",
                    fleet.coordinatorDirectory,
                ]
            )
            #expect(pinned.status == 1 && pinned.stdout.contains("refused"), "\(pinned)")
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    try await fleet.events().contains {
                        $0.kind == "install_refused" && $0.device == smallOne && $0.detail.contains("rollback")
                    }
                }
            )
            await #expect(installed(fleet, "small-1")?.0 == 2, "small-1 stays on v2")

            // A tampered blob: with the small devices offline, publish v3 int8 and corrupt its blob on the coordinator.
            _ = try await fleet.fleetctl([
                "model", "unpin", "digits-mlp", "--device", smallOne, "--data-dir", fleet.coordinatorDirectory,
            ])
            for name in small { await fleet.agents[name]?.terminate() }
            for name in big { await fleet.agents[name]?.terminate() }
            try await push(fleet, version: 3, variant: "int8", accuracy: "0.982", minRam: "32MiB")
            let v3 = try Data(contentsOf: URL(fileURLWithPath: "\(Self.models)/digits-mlp-v3-int8.safetensors"))
            let blobs = try FileManager.default.subpathsOfDirectory(atPath: fleet.coordinatorDirectory + "/blobs")
                .map { fleet.coordinatorDirectory + "/blobs/" + $0 }
                .filter { (try? Data(contentsOf: URL(fileURLWithPath: $0))) == v3 }
            let blob = try #require(blobs.first, "found the v3 blob")
            var tampered = v3
            tampered[tampered.count - 100] ^= 0x5A
            try tampered.write(to: URL(fileURLWithPath: blob))
            try fleet.startAgent("small-2", token: nil)
            let smallTwo = try #require(devices.first { $0.name == "small-2" }?.id)
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await fleet.events().contains {
                        $0.kind == "install_refused" && $0.device == smallTwo && $0.detail.contains("hash-mismatch")
                    }
                }
            )
            await #expect(installed(fleet, "small-2")?.0 == 2, "small-2 keeps v2 after refusing the tampered v3")
            await fleet.stopAll()
        }
    }
}
