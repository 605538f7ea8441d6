import Foundation
import Testing

/// The operator's HTTP listener off loopback (`--http-listen 0.0.0.0:0`): refused without `--tls-cert/--tls-key`,
/// else HTTPS with the device link's certificate, and `/metrics` and the console need a read token (bearer, or the
/// cookie the sign-in form sets). The client is curl, verifying the test's certificate.
extension EndToEnd {
    @Suite(.serialized) struct ConsoleTLSTests {
        @Test func offLoopbackWithoutTLSIsRefusedWithWhatToAdd() async throws {
            let result = try await runCommand(
                "fleet-coordinator",
                [
                    "--data-dir", NSTemporaryDirectory() + "tinyfleet-http-" + UUID().uuidString, "--http-listen",
                    "0.0.0.0:0",
                ]
            )
            #expect(result.status != 0)
            #expect(result.stderr.contains("--tls-cert FILE --tls-key FILE"), "\(result.stderr)")
        }

        @Test func offLoopbackTheListenerIsHTTPSAndNeedsAToken() async throws {
            let fleet = try Fleet("console-tls")
            defer { fleet.cleanUp() }
            let (certificate, key) = try makeSelfSignedCertificate(in: fleet.root)
            fleet.extraCoordinatorArguments = [
                "--tls-cert", certificate, "--tls-key", key, "--http-listen", "0.0.0.0:0",
            ]
            try await fleet.startCoordinator()
            let announced = try PrometheusScrape.coordinatorAddress(fleet)
            let port = try #require(announced.split(separator: ":").last)
            let curl = Curl(base: "https://127.0.0.1:\(port)", certificate: certificate, work: fleet.root)
            let read = try await AdminAPITests.apiToken(fleet, scope: "read").token

            // Without a token: 401, the console's refusal being the sign-in form.
            #expect(try await curl.get("/metrics").status == 401)
            let refused = try await curl.get("/")
            #expect(refused.status == 401 && refused.body.contains("<form method=\"post\" action=\"/login\""))
            #expect(try await curl.get("/models/none").status == 401, "every console page")
            #expect(try await curl.get("/metrics", token: "tfa_" + String(repeating: "0", count: 40)).status == 401)
            // With a read token: 200.
            let metrics = try await curl.get("/metrics", token: read)
            #expect(metrics.status == 200 && metrics.body.contains("tinyfleet_devices"), "\(metrics.body.prefix(200))")
            let page = try await curl.get("/", token: read)
            #expect(page.status == 200 && page.body.contains("<h1>Fleet</h1>"))
            #expect(try await curl.get("/api/v1/devices", token: read).status == 200, "the API as before")
            #expect(try await curl.get("/api/v1/devices").status == 401)

            // The sign-in form sets the token as a cookie (HttpOnly, Secure, SameSite=Strict) a browser sends back.
            try await checkLoginCSRF(curl, read: read)
            let form = try await Self.loginForm(curl)
            let wrong = try await curl.post("/login", form: "token=tfa_nope&" + form.field, cookie: form.cookie)
            #expect(wrong.status == 401 && wrong.body.contains("unknown API token"), "\(wrong.body)")
            let signedIn = try await curl.post("/login", form: "token=\(read)&" + form.field, cookie: form.cookie)
            #expect(signedIn.status == 303, "\(signedIn.body)")
            let cookie = try #require(signedIn.headers.first { $0.lowercased().hasPrefix("set-cookie:") })
            for attribute in ["tinyfleet_token=\(read)", "HttpOnly", "Secure", "SameSite=Strict"] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            let withCookie = try await curl.get("/drift", cookie: "tinyfleet_token=\(read)")
            #expect(withCookie.status == 200 && withCookie.body.contains("<h1>Drift</h1>"), "\(withCookie.body)")
            #expect(try await curl.get("/", cookie: "tinyfleet_token=tfa_nope").status == 401)

            try await checkActions(fleet, curl, read: read)

            // Plaintext to the same port gets no HTTP answer.
            let plaintext = try await curl.run(["http://127.0.0.1:\(port)/metrics"])
            #expect(plaintext.status != 0 && plaintext.code == "000", "plaintext refused: \(plaintext)")
            await fleet.stopAll()
        }

        /// The sign-in form's nonce: its hidden field (as a form field) and the cookie it came with.
        static func loginForm(_ curl: Curl) async throws -> (field: String, cookie: String) {
            let page = try await curl.get("/login")
            let nonce = try #require(
                page.body.components(separatedBy: "name=\"login_csrf\" value=\"").dropFirst().first.map {
                    String($0.prefix { $0 != "\"" })
                },
                "a nonce field in \(page.body)"
            )
            let setCookie = try #require(
                page.headers.first { $0.lowercased().hasPrefix("set-cookie: tinyfleet_login=") }
            )
            for attribute in ["tinyfleet_login=\(nonce)", "HttpOnly", "Secure", "SameSite=Strict", "Path=/login"] {
                #expect(setCookie.contains(attribute), "\(setCookie)")
            }
            return ("login_csrf=\(nonce)", "tinyfleet_login=\(nonce)")
        }

        /// Login CSRF: a sign-in POST another site could make (no nonce, a nonce without its cookie, another form's
        /// nonce, or marked cross-site by the browser) is 403 and signs nobody in, even with a good token.
        func checkLoginCSRF(_ curl: Curl, read: String) async throws {
            let form = try await Self.loginForm(curl)
            let other = try await Self.loginForm(curl)
            #expect(form.field != other.field, "one nonce per form")
            let token = "token=\(read)"
            let forged: [(form: String, cookie: String?, headers: [String])] = [
                (token, nil, []),
                (token + "&" + form.field, nil, []),
                (token + "&login_csrf=", form.cookie, []),
                (token + "&" + other.field, form.cookie, []),
                (token + "&" + form.field, form.cookie, ["Sec-Fetch-Site: cross-site"]),
                (token + "&" + form.field, form.cookie, ["Sec-Fetch-Site: same-site"]),
            ]
            for attempt in forged {
                let refused = try await curl.post(
                    "/login",
                    form: attempt.form,
                    cookie: attempt.cookie,
                    headers: attempt.headers
                )
                #expect(refused.status == 403, "\(attempt): \(refused.status)")
                #expect(refused.body.contains("not from this console"), "\(refused.body.prefix(300))")
                #expect(
                    !refused.headers.contains { $0.lowercased().hasPrefix("set-cookie: tinyfleet_token=") },
                    "signed nobody in: \(attempt)"
                )
            }
            // The browser's own form: same-origin.
            let real = try await curl.post(
                "/login",
                form: token + "&" + form.field,
                cookie: form.cookie,
                headers: ["Sec-Fetch-Site: same-origin", "Origin: \(curl.base)"]
            )
            #expect(real.status == 303, "\(real.body)")
        }

        /// The console's actions: an admin session gets the forms with its CSRF token; a POST without that token,
        /// with another session's, or from a read token is 403 and changes nothing; with it, the pin is made and
        /// the round request reaches the coordinator (which refuses it: this fleet has no device to train).
        func checkActions(_ fleet: Fleet, _ curl: Curl, read: String) async throws {
            for version in ["1", "2"] {
                _ = try await fleet.fleetctl([
                    "model", "push", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--version", version,
                    "--variant", "fp32", "--file", ObservabilityTests.model,
                ])
            }
            let admin = try await AdminAPITests.apiToken(fleet, scope: "admin").token
            let other = try await AdminAPITests.apiToken(fleet, scope: "admin").token
            let session = "tinyfleet_token=\(admin)"
            let pinned = {
                try await curl.get("/api/v1/events?limit=1000", token: read).body
                    .components(separatedBy: "\"pinned\"").count - 1
            }
            #expect(try await curl.get("/actions", cookie: "tinyfleet_token=\(read)").status == 403, "read: no forms")
            let forms = try await curl.get("/actions", cookie: session)
            #expect(forms.status == 200 && forms.body.contains("<option value=\"digits-mlp\">"), "\(forms.body)")
            let csrf = try #require(Self.csrf(in: forms.body), "a CSRF field")
            let otherCSRF = try #require(Self.csrf(in: try await curl.get("/actions", token: other).body))
            #expect(csrf != otherCSRF, "one CSRF token per session")
            let pin = "model=digits-mlp&version=1"
            for (form, cookie) in [
                (pin, session), (pin + "&csrf=", session), (pin + "&csrf=\(otherCSRF)", session),
                (pin + "&csrf=\(csrf)", "tinyfleet_token=\(read)"),
            ] {
                let refused = try await curl.post("/actions/pin", form: form, cookie: cookie)
                #expect(refused.status == 403, "\(form) with \(cookie.prefix(20)): \(refused.status)")
            }
            #expect(try await curl.post("/actions/pin", form: pin + "&csrf=\(csrf)").status == 401, "no session")
            #expect(try await pinned() == 0, "nothing pinned by a refused form")
            let done = try await curl.post("/actions/pin", form: pin + "&csrf=\(csrf)", cookie: session)
            #expect(
                done.status == 200 && done.body.contains("Pinned digits-mlp to v1 for the whole fleet"),
                "\(done.body)"
            )
            #expect(try await pinned() == 1, "pinned once")
            for field in [
                "clients", "min_clients", "rounds", "local_epochs", "lr", "batch_size", "strategy", "deadline",
            ] {
                #expect(forms.body.contains("name=\"\(field)\""), "the round form asks for \(field)")
            }
            let round = "model=digits-mlp&clients=1&min_clients=1&rounds=2&local_epochs=1&lr=0.01&strategy=fedavg"
            #expect(try await curl.post("/actions/round", form: round, cookie: session).status == 403)
            let badRate = try await curl.post(
                "/actions/round",
                form: "model=digits-mlp&lr=fast&csrf=\(csrf)",
                cookie: session
            )
            #expect(badRate.status == 400 && badRate.body.contains("learning rate is a number"), "\(badRate.body)")
            let started = try await curl.post("/actions/round", form: round + "&csrf=\(csrf)", cookie: session)
            // Past the CSRF check, the round takes the API's path to the coordinator, which refuses it here (no device
            // can train) with why: the console shows that as a page.
            #expect(started.status == 409 && started.body.contains("0 device(s) can train"), "\(started.body)")
        }

        /// The value of the hidden `csrf` field of a page.
        static func csrf(in page: String) -> String? {
            page.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first.map {
                String($0.prefix { $0 != "\"" })
            }
        }
    }
}

/// curl against the coordinator's HTTPS listener, trusting only the test's certificate; each run is a child
/// process waited for off Swift concurrency's pool.
struct Curl {
    let base: String
    let certificate: String
    let work: String

    struct Reply: CustomStringConvertible {
        var status: Int32
        var code: String
        var headers: [String]
        var body: String
        var description: String { "curl \(status), HTTP \(code): \(body.prefix(300))" }
        var httpStatus: Int { Int(code) ?? 0 }
    }

    struct Answer {
        var status: Int
        var headers: [String]
        var body: String
    }

    func get(_ path: String, token: String? = nil, cookie: String? = nil) async throws -> Answer {
        try await answer(
            [base + path] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
                + (cookie.map { ["--cookie", $0] } ?? [])
        )
    }

    func post(
        _ path: String,
        form: String,
        token: String? = nil,
        cookie: String? = nil,
        headers: [String] = []
    ) async throws -> Answer {
        try await answer(
            [base + path, "--data-raw", form] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
                + (cookie.map { ["--cookie", $0] } ?? []) + headers.flatMap { ["-H", $0] }
        )
    }

    private func answer(_ arguments: [String]) async throws -> Answer {
        let reply = try await run(arguments)
        guard reply.status == 0 else { throw Failure(description: "\(reply)") }
        return Answer(status: reply.httpStatus, headers: reply.headers, body: reply.body)
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `curl -sS --cacert CERT -D HEADERS -w '%{http_code}'` with `arguments`.
    func run(_ arguments: [String]) async throws -> Reply {
        let headers = "\(work)/curl-headers-\(UUID().uuidString.prefix(8))"
        let certificate = self.certificate
        return try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments =
                ["-sS", "--max-time", "30", "--cacert", certificate, "-D", headers, "-w", "\n%{http_code}"]
                + arguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let received = (try? String(contentsOfFile: headers, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: headers)
            return Reply(
                status: process.terminationStatus,
                code: String(lines.last ?? ""),
                headers: received.components(separatedBy: "\r\n").filter { !$0.isEmpty },
                body: lines.dropLast().joined(separator: "\n")
            )
        }
    }
}
