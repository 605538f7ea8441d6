import Foundation
import Testing

/// `--log-format json` on both daemons: every line either writes is one JSON object with the event fields (`at`,
/// `level`, `label`, `message`) and the entry's metadata as fields of its own.
extension EndToEnd {
    @Suite(.serialized) struct JSONLogTests {
        @Test func bothDaemonsWriteOneJSONObjectALine() async throws {
            let fleet = try Fleet("json-log")
            defer { fleet.cleanUp() }
            fleet.extraCoordinatorArguments = ["--log-format", "json", "--log-level", "debug"]
            try await fleet.startCoordinator()
            let token = try await fleet.createToken()
            let agent = try fleet.startAgent("jsonlog", token: token.token, extra: ["--log-format", "json"])
            let online = try await eventually(timeout: .seconds(20)) { try await fleet.onlineNames() == ["jsonlog"] }
            #expect(online, "\(agent.log)")
            await fleet.stopAll()

            for process in [try #require(fleet.coordinator), agent] {
                let lines = process.log.split(separator: "\n", omittingEmptySubsequences: true)
                #expect(lines.count >= 2, "\(process.name) logged: \(process.log)")
                var messages: [String] = []
                for line in lines {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    let entry = try #require(object, "\(process.name): not one JSON object: \(line)")
                    for field in ["at", "level", "label", "message"] {
                        #expect(entry[field] is String, "\(process.name): no \(field) in \(line)")
                    }
                    let at = try #require(entry["at"] as? String)
                    #expect(
                        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(at)) != nil,
                        "at is ISO 8601: \(at)"
                    )
                    messages.append(entry["message"] as? String ?? "")
                }
                print("\(process.name): \(lines.count) JSON lines, e.g. \(lines.last?.prefix(160) ?? "")")
            }
            // Metadata are fields of their own: the agent's enrolment names the device.
            let agentEntries = agent.log.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(
                agentEntries.contains { ($0["label"] as? String) != nil && $0.keys.count > 4 },
                "some agent entry carries metadata fields: \(agent.log)"
            )
        }

        @Test func anUnknownFormatIsAUsageError() async throws {
            let result = try await runCommand("fleet-coordinator", ["--log-format", "xml"])
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains("text") && result.stderr.contains("json"), "\(result.stderr)")
        }
    }
}
