import Foundation
import Testing

/// One scrape of a `GET /metrics` endpoint, parsed by prometheus_client's text-format parser (a real Prometheus
/// client library, from PyPI, installed by .ci/run) through `Scripts/scrape-metrics.py`.
struct PrometheusScrape: Decodable {
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double
    }
    var content_type: String
    var families: [String: String]
    var samples: [Sample]

    /// The first sample named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }

    static let scraper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/scrape-metrics.py").path

    /// Scrapes `http://ADDRESS/metrics`.
    static func fetch(_ address: String) async throws -> PrometheusScrape {
        let result = try await offThePool {
            try runScript("-c", ["exec python3 \"$0\" \"$@\"", scraper, "http://\(address)/metrics"])
        }
        try #require(
            result.status == 0,
            "scrape-metrics.py (needs prometheus_client: .ci/run installs it): \(result.output)"
        )
        return try JSONDecoder().decode(PrometheusScrape.self, from: Data(result.output.utf8))
    }

    /// The coordinator's `--http-listen` address, as it wrote it into coordinator.json.
    static func coordinatorAddress(_ fleet: Fleet) throws -> String {
        struct Endpoint: Decodable { var http: String? }
        let data = try Data(contentsOf: URL(fileURLWithPath: fleet.coordinatorDirectory + "/coordinator.json"))
        return try #require(try JSONDecoder().decode(Endpoint.self, from: data).http, "coordinator.json has http")
    }
}
