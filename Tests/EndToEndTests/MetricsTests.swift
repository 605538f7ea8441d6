import FleetWire
import Foundation
import NIOCore
import Testing

/// `fleet-coordinator --http-listen`: `GET /metrics` parsed by prometheus_client's text-format parser (a real
/// Prometheus client library, from PyPI, installed by .ci/run), against what `fleetctl` and the agents say.
extension EndToEnd {
    @Suite(.serialized) struct MetricsTests {
        func scrape(_ address: String) async throws -> PrometheusScrape { try await PrometheusScrape.fetch(address) }

        @Test func metricsMatchTheFleetAndMoveWhenFramesFlow() async throws {
            let fleet = try Fleet("metrics")
            defer { fleet.cleanUp() }
            fleet.extraCoordinatorArguments = ["--http-listen", "127.0.0.1:0"]
            try await fleet.startCoordinator()
            let address = try PrometheusScrape.coordinatorAddress(fleet)
            let token = try await fleet.createToken(uses: 3)
            for name in ["m1", "m2", "m3"] { try fleet.startAgent(name, token: token.token) }
            let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 3 }
            try #require(online, "three agents online: \(fleet.summary)")
            await fleet.agents["m3"]?.terminate()  // a clean goodbye: offline at once
            let settled = try await eventually(timeout: .seconds(20)) {
                try await fleet.devices().filter { $0.status == "offline" }.map(\.name) == ["m3"]
            }
            try #require(settled, "m3 offline: \(fleet.summary)")

            let first = try await scrape(address)
            #expect(first.content_type.hasPrefix("text/plain; version=0.0.4"), "\(first.content_type)")
            let devices = try await fleet.devices()
            #expect(
                first.value("tinyfleet_devices", ["status": "online"])
                    == Double(devices.filter { $0.status == "online" }.count)
            )
            #expect(first.value("tinyfleet_devices", ["status": "offline"]) == 1)
            #expect(first.value("tinyfleet_connections") == 2)
            #expect(first.families["tinyfleet_frames"] == "counter", "\(first.families)")
            #expect(first.families["tinyfleet_heartbeat_flush_seconds"] == "histogram", "\(first.families)")
            let heartbeats = try #require(
                first.value("tinyfleet_frames_total", ["type": "heartbeat", "direction": "in"]),
                "heartbeats counted"
            )
            #expect(heartbeats > 0)
            #expect((first.value("tinyfleet_frames_total", ["type": "heartbeatAck", "direction": "out"]) ?? 0) > 0)
            #expect((first.value("tinyfleet_frames_total", ["type": "hello", "direction": "in"]) ?? 0) >= 3)
            #expect((first.value("tinyfleet_heartbeat_flush_seconds_count") ?? 0) > 0)
            // Enrolment, presence and events are written: each write transaction is timed.
            #expect(first.families["tinyfleet_sqlite_write_seconds"] == "histogram", "\(first.families)")
            #expect((first.value("tinyfleet_sqlite_write_seconds_count") ?? 0) >= 3)

            // Counters move while frames flow (the heartbeat interval is 300 ms).
            let moved = try await eventually(timeout: .seconds(10)) {
                await
                    (try scrape(address).value("tinyfleet_frames_total", ["type": "heartbeat", "direction": "in"]) ?? 0)
                    > heartbeats
            }
            #expect(moved)

            // A protocol error sent to a device is counted by its code: an unknown message type (102).
            var bytes = ByteBuffer()
            bytes.writeInteger(UInt32(1))
            bytes.writeInteger(UInt8(0xEE))
            let log = AnswerLog()
            let channel = try await RawClients.open(port: fleet.port, sending: bytes, log: log)
            let answered = try await eventually(timeout: .seconds(10)) { log.errors.contains(.unknownMessageType) }
            #expect(answered, "\(log.all)")
            let after = try await scrape(address)
            #expect(after.value("tinyfleet_frame_errors_total", ["code": "102"]) == 1)
            #expect(after.value("tinyfleet_frames_total", ["type": "unknown", "direction": "in"]) == 1)
            try? await channel.close()
            await fleet.stopAll()
        }

        @Test func aNonLoopbackHTTPAddressIsRefusedWithWhatToDo() async throws {
            let result = try await runCommand(
                "fleet-coordinator",
                [
                    "--data-dir", NSTemporaryDirectory() + "tinyfleet-http-" + UUID().uuidString, "--http-listen",
                    "0.0.0.0:7421",
                ]
            )
            #expect(result.status != 0)
            #expect(result.stderr.contains("--http-listen") && result.stderr.contains("loopback"), "\(result.stderr)")
        }
    }
}
