import Foundation
import Testing

/// The agent's own counters: the local socket's `metrics` op and `fleet-agent --metrics-listen`, the second parsed
/// by prometheus_client (from PyPI, installed by .ci/run), against what the test did and what the coordinator
/// counted on its side.
extension EndToEnd {
    @Suite struct AgentMetricsTests {
        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            var value: Double
        }

        @Test func theAgentCountsSessionsInstallsAndInferencesOnItsSocketAndOverHTTP() async throws {
            let port = try freeLoopbackPort()
            try await MeteringHarness.run("agent-metrics") { harness in
                let fleet = harness.fleet
                fleet.extraCoordinatorArguments = ["--http-listen", "127.0.0.1:0"]
                try await harness.start(["m1"], agentArguments: ["m1": ["--metrics-listen", "127.0.0.1:\(port)"]])
                let socket = harness.socket("m1")

                // 3 requests of one row, one of four rows, one unknown op.
                for _ in 0..<3 { #expect(try await harness.infer("m1").ok) }
                let row = [Double](repeating: 0.25, count: 64)
                let four = try await LocalSocketProbe.request(
                    ["op": "infer", "model": "digits-mlp", "rows": Array(repeating: row, count: 4)],
                    path: socket
                )
                #expect(four.ok, "\(four.fields)")
                #expect(try await LocalSocketProbe.request(["op": "nonsense"], path: socket).error == "bad-request")

                let answer = try await LocalSocketProbe.request(["op": "metrics"], path: socket)
                try #require(answer.ok, "\(answer.fields)")
                let json = try JSONDecoder().decode(
                    [Sample].self,
                    from: JSONSerialization.data(withJSONObject: try #require(answer.fields["metrics"]))
                )
                func jsonValue(_ name: String, _ labels: [String: String]) -> Double? {
                    json.first { sample in
                        sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
                    }?.value
                }
                let scrape = try await PrometheusScrape.fetch("127.0.0.1:\(port)")
                #expect(scrape.content_type.hasPrefix("text/plain; version=0.0.4"), "\(scrape.content_type)")
                let expected: [(String, [String: String], Double)] = [
                    ("tinyfleet_agent_inferences_total", ["via": "device"], 7),
                    ("tinyfleet_agent_local_requests_total", ["op": "infer", "result": "ok"], 4),
                    ("tinyfleet_agent_local_requests_total", ["op": "unknown", "result": "bad-request"], 1),
                    ("tinyfleet_agent_model_reports_total", ["outcome": "installed"], 1),
                    ("tinyfleet_agent_connected", [:], 1),
                    ("tinyfleet_agent_sessions_total", [:], 1),
                ]
                for (name, labels, value) in expected {
                    #expect(scrape.value(name, labels) == value, "\(name)\(labels) over HTTP")
                    #expect(jsonValue(name, labels) == value, "\(name)\(labels) from the metrics op")
                }
                #expect(scrape.families["tinyfleet_agent_local_request_seconds"] == "histogram", "\(scrape.families)")
                #expect(scrape.value("tinyfleet_agent_local_request_seconds_count", ["op": "infer"]) == 4)

                // The payload bytes the agent installed from are the bytes the coordinator streamed to it.
                let coordinator = try await PrometheusScrape.fetch(PrometheusScrape.coordinatorAddress(fleet))
                let received = try #require(
                    scrape.value("tinyfleet_agent_transfer_bytes_total", ["encoding": "full"]),
                    "full transfer counted: \(scrape.samples.map(\.name))"
                )
                #expect(received > 0)
                #expect(coordinator.value("tinyfleet_transfer_bytes_total", ["encoding": "full"]) == received)

                // The coordinator gone: the agent says it is disconnected and counts its failed attempts.
                await fleet.coordinator?.terminate()
                var last: PrometheusScrape?
                let noticed = try await eventually(timeout: .seconds(30), every: .milliseconds(300)) {
                    let now = try await PrometheusScrape.fetch("127.0.0.1:\(port)")
                    last = now
                    return now.value("tinyfleet_agent_connected") == 0
                        && (now.value("tinyfleet_agent_connection_failures_total") ?? 0) >= 1
                }
                #expect(
                    noticed,
                    "\(last?.samples.filter { $0.name.contains("connect") }.map { "\($0.name) \($0.value)" } ?? [])"
                )
            }
        }

        @Test func aNonLoopbackMetricsAddressIsRefusedWithWhatToDo() async throws {
            let result = try await runCommand(
                "fleet-agent",
                [
                    "--data-dir", NSTemporaryDirectory() + "tinyfleet-agent-metrics-" + UUID().uuidString,
                    "--coordinator", "127.0.0.1:1", "--metrics-listen", "0.0.0.0:9420",
                ]
            )
            #expect(result.status != 0)
            #expect(
                result.stderr.contains("--metrics-listen") && result.stderr.contains("loopback"),
                "\(result.stderr)"
            )
        }
    }
}
