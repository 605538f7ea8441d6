import Foundation
import Testing

/// The console's model and drift pages, checked against what `fleetctl` says of the same fleet.
extension EndToEnd.ConsoleTests {
    /// `/models/digits-mlp`: per version, the devices assigned and running it and its transfers' bytes equal
    /// `fleetctl models/devices/transfers --json`; `/models/huge`: every device fits no variant.
    static func checkModelPages(
        _ fleet: Fleet,
        _ address: String,
        _ browser: Chromium,
        latest: Int,
        fleetPage: String
    ) async throws {
        #expect(fleetPage.contains("<a href=\"/models/digits-mlp\">digits-mlp</a>"), "the fleet page links it")
        let page = try await browser.load("http://\(address)/models/digits-mlp", as: "model-digits-mlp")
        #expect(page.contains("<h1>digits-mlp</h1>"))
        struct Transfer: Decodable {
            var model: String
            var version: Int
            var encoding: String
            var wireBytes: Int
            var fullBytes: Int
        }
        let transfers = try await JSONDecoder().decode(
            [Transfer].self,
            from: Data(
                try fleet.fleetctl([
                    "transfers", "--data-dir", fleet.coordinatorDirectory, "--model", "digits-mlp", "--json",
                ])
                .utf8
            )
        )
        struct Model: Decodable {
            var name: String
            var versions: [Int]
        }
        let models = try await JSONDecoder().decode(
            [Model].self,
            from: Data(try fleet.fleetctl(["models", "--data-dir", fleet.coordinatorDirectory, "--json"]).utf8)
        )
        let versions = try #require(models.first { $0.name == "digits-mlp" }?.versions)
        #expect(versions.count >= 2 && versions.last == latest, "\(versions)")
        for version in versions {
            let of = transfers.filter { $0.version == version }
            let sent = of.reduce(0) { $0 + $1.wireBytes }
            let full = of.reduce(0) { $0 + max($1.fullBytes, $1.wireBytes) }
            let installed = version == latest ? 3 : 0
            let row =
                "<td>\(installed)</td><td>\(installed)</td><td>0</td><td>\(of.count)</td>"
                + "<td>\(of.filter { $0.encoding == "delta" }.count)</td><td>\(sent)</td><td>\(full)</td>"
                + "<td>\(full - sent)</td></tr>"
            #expect(page.contains("<td>v\(version)</td><td>fp32</td>"), "v\(version) listed")
            #expect(page.contains(row), "v\(version): assigned, installed, failed, transfers, bytes: \(row)")
        }
        #expect(transfers.contains { $0.version == latest }, "v\(latest) was transferred")
        let huge = try await browser.load("http://\(address)/models/huge", as: "model-huge")
        #expect(huge.contains("3 devices fit no variant"), "huge fits none")
        #expect(huge.contains("<td>v1</td><td>fp32</td>") && huge.contains("<td>0</td><td>0</td><td>0</td><td>0</td>"))
        let missing = try await API.get(address, "/models/nope", token: nil)
        #expect(missing.status == 404, "an unknown model is 404")
    }

    struct RegionDrift: Decodable, Equatable {
        var region: String?
        var worstFeature: String?
        var worstFeaturePSI: Double?
    }

    struct DeviceDrift: Decodable {
        var name: String?
        var psi: Double
    }

    /// `/drift`: one heatmap cell per region × feature, each region's highest cell being the worst feature and its
    /// PSI that `fleetctl drift --by region --json` names; the table repeats the values; the worst devices with
    /// their median PSI as `fleetctl drift --json` has it; no markup from outside.
    static func checkDriftPage(_ fleet: Fleet, _ address: String, _ browser: Chromium) async throws {
        let drift = { (by: [String]) async throws -> Data in
            await Data(
                try fleet.fleetctl(["drift", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--json"] + by)
                    .utf8
            )
        }
        var regions: [RegionDrift] = []
        var dom = ""
        // Drift reports arrive while the page is read: compare until one read of both agrees.
        let agreed = try await eventually(timeout: .seconds(60)) {
            regions = try await JSONDecoder().decode([RegionDrift].self, from: try drift(["--by", "region"]))
            guard regions.count == 2 else { return false }
            dom = String(decoding: try await API.get(address, "/drift", token: nil).body, as: UTF8.self)
            return await regions == (try JSONDecoder().decode([RegionDrift].self, from: try drift(["--by", "region"])))
                && regions.allSatisfy { region in
                    dom.contains("<title>\(region.region ?? "?"), \(region.worstFeature ?? "?"): ")
                }
        }
        try #require(agreed, "two regions drift: \(regions)")
        let page = try await browser.load("http://\(address)/drift", as: "drift")
        let cells = count("<rect class=\"cell\"", in: page)
        let features = cells / 2
        #expect(cells == 2 * features && features >= 2, "a cell per region and feature: \(cells)")
        for region in regions {
            let name = try #require(region.region)
            let values = cellValues(of: name, in: page)
            #expect(values.count == features, "\(name): a cell per feature")
            let worst = try #require(region.worstFeaturePSI)
            #expect(page.contains("<title>\(name), \(region.worstFeature ?? "?"): \(format(worst))</title>"))
            #expect(values.max() == worst, "\(name): its highest cell is its worst feature's PSI \(worst)")
        }
        #expect(count("<tr><td>", in: page) >= features, "the values as a table too")
        #expect(page.contains("class=\"tick\"") && page.contains("≥ 0.5"), "a legend")
        let devices = try await JSONDecoder().decode([DeviceDrift].self, from: try drift([]))
        for device in devices {
            let name = try #require(device.name)
            #expect(page.contains(">\(name)</a></td><td>"), "\(name) among the worst devices")
            #expect(page.contains("<td>\(format(device.psi))</td>"), "\(name): median PSI \(device.psi)")
        }
        #expect(!page.lowercased().contains("<script"), "/drift: no script element")
    }

    /// The values of `region`'s heatmap cells, from their titles.
    static func cellValues(of region: String, in page: String) -> [Double] {
        page.components(separatedBy: "<title>\(region), ").dropFirst().compactMap { rest in
            let title = rest.prefix { $0 != "<" }
            return title.split(separator: ": ").last.flatMap { Double($0) }
        }
    }

    /// As the console prints a PSI (rounded to 4 decimals by the views, then `Double`'s description).
    static func format(_ value: Double) -> String { String(value) }

    /// Each agent infers on the held-out rows while running v1 (the version with reference statistics), and the
    /// coordinator holds drift of both regions before anything else changes.
    static func makeDrift(_ fleet: Fleet) async throws {
        for name in ["eu-1", "us-1"] {
            let inferred = try await offThePool {
                try runCommandBlocking(
                    "fleet-agent",
                    ["infer", "--data-dir", "\(fleet.root)/agent-\(name)", "\(fleet.root)/test.csv", "--json"]
                )
            }
            #expect(inferred.status == 0, "\(name): \(inferred.stderr)")
        }
        let reported = try await eventually(timeout: .seconds(30)) {
            let output = try await fleet.fleetctl([
                "drift", "digits-mlp", "--data-dir", fleet.coordinatorDirectory, "--by", "region", "--json",
            ])
            return try JSONDecoder().decode([RegionDrift].self, from: Data(output.utf8)).count == 2
        }
        try #require(reported, "drift of both regions")
    }
}
