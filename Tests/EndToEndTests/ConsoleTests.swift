import Foundation
import Testing

/// The fleet console (issue 13) in a real browser: Debian's headless Chromium loads each page of a running fleet
/// (a coordinator with `--http-listen`, agents `eu-1` and `us-1` running digits-mlp, five federated rounds (one
/// version published at least), a model no device fits, and a third agent whose name and label are markup), and the test
/// checks the DOM Chromium built. Each page is also saved as a screenshot whose path the test prints.
extension EndToEnd {
    @Suite(.serialized) struct ConsoleTests {
        typealias API = AdminAPITests
        static let hostileName = "<script>alert(1)"
        static let hostileLabel = "<i>x</i>"
        /// Federated rounds the fleet runs (the issue's test: five), each one local epoch.
        static let rounds = 5

        @Test func theConsoleShowsTheFleetInABrowser() async throws {
            try await Fleet("console").run(scenario)
        }

        func scenario(_ fleet: Fleet) async throws {
            let address = try await APIAgreementTests.startTrainingFleet(fleet)
            let hostile = try await fleet.createToken(uses: 1, labels: ["note=\(Self.hostileLabel)"])
            try fleet.startAgent(Self.hostileName, token: hostile.token, extra: ["--log-level", "warning"])
            let online = try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().count == 3 }
            try #require(online, "three agents online: \(fleet.summary)")
            try await Self.makeDrift(fleet)
            _ = try await fleet.fleetctl([
                "model", "push", "huge", "--data-dir", fleet.coordinatorDirectory, "--version", "1", "--variant",
                "fp32", "--file", ObservabilityTests.model, "--min-ram", "1000GiB",
            ])
            let rounds = try await offThePool {
                try runCommandBlocking(
                    "fleetctl",
                    [
                        "round", "start", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--clients", "2",
                        "--min-clients", "2", "--lr", "0.01", "--local-epochs", "1", "--rounds", "\(Self.rounds)",
                        "--eval-data",
                        "\(fleet.root)/test.csv", "--wait", "--json",
                    ]
                )
            }
            // A round the evaluation holds back (`--wait` then exits 1) is still a point of the chart.
            #expect(rounds.status == 0 || rounds.stderr.contains("held back"), "\(rounds.stderr)")
            var evaluated = 0
            let ended = try await eventually(timeout: .seconds(240)) {
                evaluated = try await Self.evaluatedRounds(fleet)
                return evaluated == Self.rounds
            }
            try #require(ended, "\(Self.rounds) evaluated rounds: \(evaluated); \(rounds.stdout)")
            let latest = try await Self.latestVersion(fleet)
            try #require(latest >= 2, "a round published a second version")
            let settled = try await eventually(timeout: .seconds(60)) {
                await fleet.installedVersions(of: "digits-mlp").filter { $0 == latest }.count == 3
            }
            let runningVersions = await fleet.installedVersions(of: "digits-mlp")
            try #require(settled, "every agent runs v\(latest): \(runningVersions)")
            let runs = "digits-mlp v\(latest) fp32"
            let devices = try await fleet.devices()
            let eu = try #require(devices.first { $0.name == "eu-1" })
            let hostileDevice = try #require(devices.first { $0.name == Self.hostileName })
            let browser = try Chromium(
                screenshots: makeTemporaryDirectory("tinyfleet-console-screenshots"),
                work: fleet.root
            )

            let fleetPage = try await browser.load("http://\(address)/", as: "fleet")
            let regions = ["eu-1": "eu", "us-1": "us", Self.hostileName: "-"]
            for device in devices {
                let row =
                    ">\(Self.escaped(device.name))</a></td><td><span class=\"online\">online</span></td>"
                    + "<td>\(regions[device.name] ?? "?")</td><td>\(runs)</td>"
                #expect(fleetPage.contains(row), "\(device.name): online, its region, runs \(runs)")
            }
            #expect(fleetPage.contains("<td>\(runs)</td><td>3</td>"), "3 devices counted on v\(latest)")
            #expect(fleetPage.contains("Fitting no variant (3)"), "huge fits no device")
            #expect(Self.count("<td>huge</td><td>no variant fits", in: fleetPage) == 3)
            Self.expectEscaped(fleetPage, page: "/")

            let signIn = try await browser.load("http://\(address)/login", as: "login")
            #expect(signIn.contains("<form method=\"post\" action=\"/login\">"), "the sign-in form")
            let actions = try await API.get(address, "/actions", token: nil)
            #expect(actions.status == 401, "actions need an admin token even on loopback")
            try await Self.checkModelPages(fleet, address, browser, latest: latest, fleetPage: fleetPage)
            try await Self.checkDriftPage(fleet, address, browser)

            let devicePage = try await browser.load("http://\(address)/devices/eu-1", as: "device-eu-1")
            #expect(devicePage.contains("<h1>eu-1</h1>") && devicePage.contains("<dd>\(eu.id)</dd>"))
            #expect(devicePage.contains("<dt>region</dt><dd>eu</dd>"), "its labels")
            let both = "<td>v\(latest) fp32</td><td>v\(latest) fp32</td>"
            #expect(devicePage.contains("<td>digits-mlp</td>\(both)"), "runs and should run v\(latest)")
            #expect(devicePage.contains("<td>huge</td><td>nothing</td><td>no variant fits</td>"))
            #expect(devicePage.contains("<dt>training</dt><dd>granted"), "its consent")
            #expect(devicePage.contains("<td>\(runs)</td><td>"), "the transfer of v\(latest)")
            let hostilePage = try await browser.load(
                "http://\(address)/devices/\(hostileDevice.id)",
                as: "device-hostile"
            )
            #expect(hostilePage.contains("<h1>\(Self.escaped(Self.hostileName))</h1>"), "its name as text")
            #expect(
                hostilePage.contains("<dt>note</dt><dd>\(Self.escaped(Self.hostileLabel))</dd>"),
                "its label as text"
            )
            Self.expectEscaped(hostilePage, page: "/devices/ID")

            let roundsPage = try await browser.load("http://\(address)/rounds", as: "rounds")
            #expect(Self.count("<circle ", in: roundsPage) == Self.rounds, "one point per round")
            for round in 1...Self.rounds {
                #expect(Self.count("<title>round \(round): ", in: roundsPage) == 1, "round \(round)'s point")
            }
            #expect(Self.count("<td>2 of 2</td>", in: roundsPage) == Self.rounds, "participants of each round")

            let assigned = try await browser.load("http://\(address)/events?kind=assigned", as: "events-assigned")
            let rows = Self.count("<tr><td>", in: assigned)
            #expect(rows >= 6 && Self.count("?kind=assigned\">assigned</a>", in: assigned) == rows, "only assigned")
            let ofEU = try await browser.load("http://\(address)/events?device=eu-1", as: "events-eu-1")
            let euRows = Self.count("<tr><td>", in: ofEU)
            let sequences = ofEU.components(separatedBy: "<tr><td>").dropFirst().compactMap {
                Int($0.prefix { $0.isNumber })
            }
            #expect(sequences.count == euRows && sequences == sequences.sorted(by: >), "newest first: \(sequences)")
            #expect(euRows >= 3 && Self.count("?device=\(eu.id)\">eu-1</a>", in: ofEU) == euRows, "only eu-1's")

            let page = try await API.get(address, "/", token: nil)
            #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true)
            let missing = try await API.get(address, "/devices/nope", token: nil)
            let missingText = String(decoding: missing.body, as: UTF8.self)
            #expect(missing.status == 404 && missingText.contains("no device &quot;nope&quot;"), "\(missingText)")
            let unknown = try await API.get(address, "/events?offset=1", token: nil)
            #expect(unknown.status == 400 && String(decoding: unknown.body, as: UTF8.self).contains("kind"))
            #expect(unknown.headers["content-type"] == "text/html; charset=utf-8", "errors are pages too")
            try await Self.checkLimits(address)
            await fleet.stopAll()
        }

        /// The fleet page in pages of `limit` devices, the events page's `limit`, the rounds page of another model.
        static func checkLimits(_ address: String) async throws {
            let body = { (path: String) in
                String(decoding: try await API.get(address, path, token: nil).body, as: UTF8.self)
            }
            let deviceRow = "</a></td><td><span class=\""
            let first = try await body("/?limit=2")
            #expect(count(deviceRow, in: first) == 2 && first.contains("next 2 devices"), "a page of 2")
            let all = try await body("/?limit=3")
            #expect(count(deviceRow, in: all) == 3 && !all.contains("next 3 devices"), "the last page")
            #expect(count("<tr><td>", in: try await body("/events?limit=1")) == 1, "limit=1: one event")
            let other = try await body("/rounds?model=other")
            #expect(other.contains("no federated rounds") && !other.contains("<circle"), "only that model's rounds")
        }

        /// Rounds of digits-mlp with a test accuracy, as `fleetctl rounds --json` lists them.
        static func evaluatedRounds(_ fleet: Fleet) async throws -> Int {
            let output = try await fleet.fleetctl([
                "rounds", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json",
            ])
            let rounds = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            return rounds.filter { $0["testAccuracy"] as? Double != nil }.count
        }

        /// The newest version of digits-mlp, as `fleetctl models --json` lists it.
        static func latestVersion(_ fleet: Fleet) async throws -> Int {
            let output = try await fleet.fleetctl(["models", "--data-dir", fleet.coordinatorDirectory, "--json"])
            let models = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            return try #require(models.first { $0["name"] as? String == "digits-mlp" }?["latestVersion"] as? Int)
        }

        /// The hostile name is in the DOM as text only: no script element exists.
        static func expectEscaped(_ dom: String, page: String) {
            #expect(dom.contains(escaped(hostileName)), "\(page): the name shown as text")
            #expect(!dom.lowercased().contains("<script"), "\(page): no script element")
            #expect(!dom.contains("<i>x</i>"), "\(page): no markup from a label")
        }

        /// `text` as Chromium serialises it in a text node.
        static func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }

        static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
    }
}

/// Debian's Chromium, headless: `--dump-dom` prints the DOM it built from a page, `--screenshot` saves it as PNG.
/// Each run is a child process waited for on a thread of its own (``offThePool``), killed after 90 seconds.
struct Chromium {
    /// Where the screenshots go (kept).
    let screenshots: String
    /// Where the browser's profile and logs go (the fleet's folder: removed unless a test failed).
    let work: String

    init(screenshots: String, work: String) throws {
        self.screenshots = screenshots
        self.work = work
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw ChromiumMissing()
        }
    }

    struct ChromiumMissing: Error, CustomStringConvertible {
        var description: String { "no /usr/bin/chromium: apt-get install -y chromium (.ci/run installs it)" }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The DOM of `url`; also saves its screenshot as `NAME.png` in `screenshots` and prints its path.
    func load(_ url: String, as name: String) async throws -> String {
        let dom = try await run(["--dump-dom", url], name: name)
        let screenshot = "\(screenshots)/\(name).png"
        _ = try await run(["--screenshot=\(screenshot)", "--window-size=1280,900", url], name: name)
        print("console screenshot: \(screenshot) (\(url))")
        return dom
    }

    private func run(_ arguments: [String], name: String) async throws -> String {
        let profile = "\(work)/chromium-profile"
        let log = "\(work)/chromium-\(name).log"
        return try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments =
                [
                    "90", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--user-data-dir=\(profile)",
                ] + arguments
            let out = Pipe()
            process.standardOutput = out
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            let output = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Failure(description: "chromium \(arguments) exited \(process.terminationStatus): see \(log)")
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
