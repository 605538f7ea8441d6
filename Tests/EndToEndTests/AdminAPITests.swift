import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP admin API (`fleet-coordinator --http-listen`, `Protocol/admin-api.yaml`) with tokens made by the real
/// `fleetctl api-token create`, against a real coordinator with real agents.
extension EndToEnd {
    @Suite(.serialized) struct AdminAPITests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        struct Reply {
            var status: Int
            var headers: [String: String]
            var body: Data

            var json: Any? { try? JSONSerialization.jsonObject(with: body) }
            var errorMessage: String {
                ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
            }
            /// The target of `Link: <…>; rel="next"`, if any.
            var next: String? {
                guard let link = headers["link"], link.hasSuffix("rel=\"next\""),
                    let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">")
                else { return nil }
                return String(link[link.index(after: open)..<close])
            }
        }

        static func get(_ address: String, _ path: String, token: String?) async throws -> Reply {
            var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            var headers: [String: String] = [:]
            for (key, value) in http.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            return Reply(status: http.statusCode, headers: headers, body: data)
        }

        static func post(_ address: String, _ path: String, token: String?, body: Data) async throws -> Reply {
            var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            return Reply(status: http.statusCode, headers: [:], body: data)
        }

        struct APIToken: Decodable {
            var token: String
            var id: String
            var scope: String
            var expiresAt: String?
        }

        static func apiToken(_ fleet: Fleet, scope: String, expires: String? = nil) async throws -> APIToken {
            let output = try await fleet.fleetctl(
                ["api-token", "create", "--data-dir", fleet.coordinatorDirectory, "--scope", scope, "--json"]
                    + (expires.map { ["--expires", $0] } ?? [])
            )
            return try JSONDecoder().decode(APIToken.self, from: Data(output.utf8))
        }

        static func startFleet(_ name: String, agents: [String]) async throws -> (Fleet, String) {
            let fleet = try Fleet(name)
            fleet.extraCoordinatorArguments = ["--http-listen", "127.0.0.1:0"]
            try await fleet.startCoordinator()
            let address = try PrometheusScrape.coordinatorAddress(fleet)
            if !agents.isEmpty {
                let token = try await fleet.createToken(uses: agents.count)
                for agent in agents { try fleet.startAgent(agent, token: token.token) }
                let online = try await eventually(timeout: .seconds(30)) {
                    try await fleet.onlineNames() == Set(agents)
                }
                try #require(online, "agents online: \(fleet.summary)")
            }
            return (fleet, address)
        }

        /// Pushes digits-mlp v1 (fp32) and waits until every agent runs it.
        static func pushModel(_ fleet: Fleet, agents: Int) async throws {
            _ = try await fleet.fleetctl([
                "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", "1", "--variant",
                "fp32", "--file", "\(ModelDeliveryTests.models)/digits-mlp-v1-fp32.safetensors",
            ])
            let installed = try await eventually(timeout: .seconds(30)) {
                let json = try await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory, "--json"])
                return json.components(separatedBy: "\"digits-mlp\"").count - 1 == agents
            }
            try #require(installed, "every agent installed digits-mlp v1: \(fleet.summary)")
        }

        /// Every device page of `GET /api/v1/devices`, `limit` at a time, following the `Link` header.
        static func allDevicePages(_ address: String, token: String, limit: Int) async throws -> [[Any]] {
            var pages: [[Any]] = []
            var path: String? = "/api/v1/devices?limit=\(limit)"
            while let current = path, pages.count < 100 {
                let reply = try await get(address, current, token: token)
                try #require(
                    reply.status == 200,
                    "\(current): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))"
                )
                pages.append(try #require(reply.json as? [Any], "a top-level JSON array"))
                path = reply.next
            }
            return pages
        }

        @Test func devicesAgreeWithFleetctlDevicesJSONPageByPage() async throws {
            let (fleet, address) = try await Self.startFleet("api-devices", agents: ["d1", "d2", "d3", "d4", "d5"])
            defer { fleet.cleanUp() }
            try await Self.pushModel(fleet, agents: 5)
            let token = try await Self.apiToken(fleet, scope: "read")
            // lastSeen moves with heartbeats (to the second): compare until one pair of reads agrees.
            var last = ""
            let agreed = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
                let pages = try await Self.allDevicePages(address, token: token.token, limit: 2)
                let api = pages.flatMap { $0 }
                let cli = try JSONSerialization.jsonObject(
                    with: Data(
                        try await fleet.fleetctl(["devices", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                    )
                )
                let apiJSON = try JSONSerialization.data(withJSONObject: api, options: [.sortedKeys])
                let cliJSON = try JSONSerialization.data(withJSONObject: cli, options: [.sortedKeys])
                // fleetctl over the binary admin protocol (not the SQLite file) says the same.
                let remote = try JSONSerialization.jsonObject(
                    with: Data(
                        try await fleet.fleetctl([
                            "devices", "--coordinator", "127.0.0.1:\(fleet.port)", "--admin-key",
                            fleet.coordinatorDirectory + "/admin.key", "--json",
                        ]).utf8
                    )
                )
                let remoteJSON = try JSONSerialization.data(withJSONObject: remote, options: [.sortedKeys])
                last =
                    "pages \(pages.map(\.count)); api \(String(decoding: apiJSON, as: UTF8.self))\ncli "
                    + String(decoding: cliJSON, as: UTF8.self)
                return pages.map(\.count) == [2, 2, 1] && apiJSON == cliJSON && apiJSON == remoteJSON
            }
            #expect(agreed, "\(last)")
            let models = try await Self.get(address, "/api/v1/models", token: token.token)
            let cliModels = try JSONSerialization.jsonObject(
                with: Data(
                    try await fleet.fleetctl(["models", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(models.status == 200)
            #expect(
                try JSONSerialization.data(withJSONObject: try #require(models.json), options: [.sortedKeys])
                    == JSONSerialization.data(withJSONObject: cliModels, options: [.sortedKeys]),
                "\(String(decoding: models.body, as: UTF8.self))"
            )
            #expect((models.json as? [[String: Any]])?.first?["name"] as? String == "digits-mlp")
            var transfers: [Any] = []
            var path: String? = "/api/v1/transfers?limit=2"
            while let current = path, transfers.count < 100 {
                let reply = try await Self.get(address, current, token: token.token)
                try #require(reply.status == 200, "\(current): \(reply.errorMessage)")
                transfers += try #require(reply.json as? [Any])
                path = reply.next
            }
            let cliTransfers = try JSONSerialization.jsonObject(
                with: Data(
                    try await fleet.fleetctl(["transfers", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8
                )
            )
            #expect(transfers.count == 5, "one delivery per device")
            #expect(
                try JSONSerialization.data(withJSONObject: transfers, options: [.sortedKeys])
                    == JSONSerialization.data(withJSONObject: cliTransfers, options: [.sortedKeys])
            )
            let one = try await Self.get(address, "/api/v1/devices/d3", token: token.token)
            #expect(one.status == 200 && (one.json as? [String: Any])?["name"] as? String == "d3")
            let missing = try await Self.get(address, "/api/v1/devices/nope", token: token.token)
            #expect(
                missing.status == 404 && missing.errorMessage.contains("/api/v1/devices"),
                "\(missing.errorMessage)"
            )
            let badCursor = try await Self.get(address, "/api/v1/devices?after=gone", token: token.token)
            #expect(badCursor.status == 400 && badCursor.errorMessage.contains("without after"))
            let badLimit = try await Self.get(address, "/api/v1/devices?limit=501", token: token.token)
            #expect(badLimit.status == 400 && badLimit.errorMessage.contains("1 to 500"))
            let unknown = try await Self.get(address, "/api/v1/devices?offset=3", token: token.token)
            #expect(unknown.status == 400 && unknown.errorMessage.contains("limit"), "\(unknown.errorMessage)")
            let long = String(repeating: "x", count: 600)
            let tooLong = try await Self.get(address, "/api/v1/devices?after=\(long)", token: token.token)
            #expect(tooLong.status == 400 && tooLong.errorMessage.contains("512"), "\(tooLong.errorMessage)")
            await fleet.stopAll()
        }

        @Test func eventsArePolledWithSinceAndMissNone() async throws {
            let (fleet, address) = try await Self.startFleet("api-events", agents: ["e1", "e2"])
            defer { fleet.cleanUp() }
            let token = try await Self.apiToken(fleet, scope: "read")
            var polled: [[String: Any]] = []
            var path: String? = "/api/v1/events?limit=3&since=0"
            while let current = path, polled.count < 10_000 {
                let reply = try await Self.get(address, current, token: token.token)
                try #require(reply.status == 200, "\(reply.status) \(reply.errorMessage)")
                polled += try #require(reply.json as? [[String: Any]])
                path = reply.next
            }
            let sequences = polled.compactMap { $0["sequence"] as? Int64 ?? ($0["sequence"] as? Int).map(Int64.init) }
            let cli = try await fleet.events().map(\.sequence)
            #expect(sequences.count == polled.count && sequences == sequences.sorted(), "\(sequences)")
            #expect(Set(cli).isSubset(of: Set(sequences)), "fleetctl events \(cli) vs API \(sequences)")
            #expect(cli.count >= 4, "token_created, api_token_created and two enrolments at least: \(cli)")
            let after = try await Self.get(address, "/api/v1/events?since=\(sequences.last ?? 0)", token: token.token)
            #expect(after.status == 200 && (after.json as? [Any])?.isEmpty == true)
            await fleet.stopAll()
        }

        @Test func tokensGiveFourOhOneFourOhThreeAndExpire() async throws {
            let (fleet, address) = try await Self.startFleet("api-auth", agents: [])
            defer { fleet.cleanUp() }
            let none = try await Self.get(address, "/api/v1/devices", token: nil)
            #expect(
                none.status == 401 && none.errorMessage.contains("fleetctl api-token create"),
                "\(none.errorMessage)"
            )
            #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            let wrong = try await Self.get(
                address,
                "/api/v1/devices",
                token: "tfa_" + String(repeating: "0", count: 40)
            )
            #expect(wrong.status == 401 && wrong.errorMessage.contains("unknown API token"), "\(wrong.errorMessage)")
            let huge = try await Self.get(address, "/api/v1/devices", token: String(repeating: "a", count: 4000))
            #expect(huge.status == 401)

            let read = try await Self.apiToken(fleet, scope: "read")
            #expect(read.token.hasPrefix("tfa_") && read.token.count == 44 && read.scope == "read")
            #expect(try await Self.get(address, "/api/v1/devices", token: read.token).status == 200)
            let forbidden = try await Self.get(address, "/api/v1/api-tokens", token: read.token)
            #expect(
                forbidden.status == 403 && forbidden.errorMessage.contains("--scope admin"),
                "\(forbidden.errorMessage)"
            )

            let admin = try await Self.apiToken(fleet, scope: "admin")
            let listed = try await Self.get(address, "/api/v1/api-tokens", token: admin.token)
            #expect(listed.status == 200)
            #expect(String(decoding: listed.body, as: UTF8.self).contains(read.id))
            #expect(!String(decoding: listed.body, as: UTF8.self).contains(read.token), "a token shows once")
            #expect(try await Self.get(address, "/api/v1/devices", token: admin.token).status == 200)

            // An admin token creates tokens over HTTP too; a read token may not; bodies are bounded.
            let request = Data(#"{"scope": "read", "expiresInSeconds": 60}"#.utf8)
            let made = try await Self.post(address, "/api/v1/api-tokens", token: admin.token, body: request)
            #expect(made.status == 201, "\(made.errorMessage)")
            let madeToken = try #require((made.json as? [String: Any])?["token"] as? String)
            #expect((made.json as? [String: Any])?["scope"] as? String == "read")
            #expect(try await Self.get(address, "/api/v1/devices", token: madeToken).status == 200)
            let refused = try await Self.post(address, "/api/v1/api-tokens", token: read.token, body: request)
            #expect(refused.status == 403)
            let anonymous = try await Self.post(address, "/api/v1/api-tokens", token: nil, body: request)
            #expect(anonymous.status == 401)
            let padding = String(repeating: "x", count: 5000)
            let big = Data(("{\"scope\": \"read\", \"pad\": \"" + padding + "\"}").utf8)
            let tooBig = try await Self.post(address, "/api/v1/api-tokens", token: admin.token, body: big)
            #expect(tooBig.status == 413 && tooBig.errorMessage.contains("1024"), "\(tooBig.status)")
            let rootScope = Data(#"{"scope": "root"}"#.utf8)
            let bad = try await Self.post(address, "/api/v1/api-tokens", token: admin.token, body: rootScope)
            #expect(bad.status == 400 && bad.errorMessage.contains("read or admin"), "\(bad.errorMessage)")

            // Only a hash is kept: neither the CLI's list nor the database file holds a token.
            let list = try await fleet.fleetctl([
                "api-token", "list", "--data-dir", fleet.coordinatorDirectory, "--json",
            ])
            #expect(list.contains(read.id) && list.contains(admin.id) && !list.contains(read.token))
            let database = try Data(
                contentsOf: URL(fileURLWithPath: fleet.coordinatorDirectory + "/coordinator.sqlite")
            )
            #expect(
                database.range(of: Data(read.token.utf8)) == nil && database.range(of: Data(admin.token.utf8)) == nil
            )

            // Revoked: 401 from then on.
            _ = try await fleet.fleetctl(["api-token", "revoke", "--data-dir", fleet.coordinatorDirectory, read.id])
            let revoked = try await Self.get(address, "/api/v1/devices", token: read.token)
            #expect(revoked.status == 401 && revoked.errorMessage.contains("revoked"), "\(revoked.errorMessage)")

            // Expiry is enforced.
            let brief = try await Self.apiToken(fleet, scope: "admin", expires: "2s")
            #expect(brief.expiresAt != nil)
            #expect(try await Self.get(address, "/api/v1/devices", token: brief.token).status == 200)
            let expired = try await eventually(timeout: .seconds(15), every: .milliseconds(250)) {
                try await Self.get(address, "/api/v1/devices", token: brief.token).status == 401
            }
            #expect(expired)
            let last = try await Self.get(address, "/api/v1/devices", token: brief.token)
            #expect(last.errorMessage.contains("expired"), "\(last.errorMessage)")
            let state = try await fleet.fleetctl([
                "api-token", "list", "--data-dir", fleet.coordinatorDirectory, "--json",
            ])
            #expect(state.contains("\"expired\"") && state.contains("\"revoked\""), "\(state)")

            let badScope = try await runCommand(
                "fleetctl",
                ["api-token", "create", "--data-dir", fleet.coordinatorDirectory, "--scope", "root"]
            )
            #expect(badScope.status != 0 && badScope.stderr.contains("read or admin"), "\(badScope.stderr)")
            await fleet.stopAll()
        }

        /// schemathesis (PyPI, installed by .ci/run) generates requests from `Protocol/admin-api.yaml` and checks
        /// every response against it: no 5xx, status codes, content types, headers and bodies as documented, and
        /// that requests without the token are refused (`ignored_auth`).
        @Test func theServerMatchesItsOpenAPIDocument() async throws {
            // A fleet with something in every list: devices in two regions, a model with reference statistics,
            // drift reports, consent, held samples and a published round.
            let fleet = try Fleet("api-openapi")
            defer { fleet.cleanUp() }
            let address = try await APIAgreementTests.startTrainingFleet(fleet)
            try await APIAgreementTests.makeHistory(fleet)
            let admin = try await Self.apiToken(fleet, scope: "admin")
            let schema = Self.root.appendingPathComponent("Protocol/admin-api.yaml").path
            let result = try await offThePool {
                try runScript(
                    "-c",
                    [
                        #"exec python3 -m schemathesis.cli run "$0" "$@""#, schema, "--base-url", "http://\(address)",
                        "--header", "Authorization: Bearer \(admin.token)", "--checks", "all", "--experimental",
                        "openapi-3.1", "--hypothesis-max-examples", "40", "--hypothesis-derandomize",
                        "--schemathesis-io-telemetry", "false", "--no-color",
                    ],
                    environment: ProcessInfo.processInfo.environment.merging(["SCHEMATHESIS_TELEMETRY": "false"]) { $1 }
                )
            }
            #expect(result.status == 0, "schemathesis (needs schemathesis: .ci/run installs it):\n\(result.output)")
            #expect(result.output.contains("16 passed"), "every operation of admin-api.yaml ran:\n\(result.output)")
            await fleet.stopAll()
        }
    }
}
