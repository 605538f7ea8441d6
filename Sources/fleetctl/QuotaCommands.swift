import ArgumentParser
import FleetCommandLine
import FleetControl
import Foundation

extension FleetCtl {
    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant or revoke pay-per-query quotas (Protocol/METERING.md).",
            subcommands: [Grant.self, Revoke.self]
        )

        struct Grant: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Grant a device (or every device matching --selector) queries of a model.",
                discussion: """
                    The coordinator signs the grant with its release key and sends it to the device (within seconds \
                    when it is connected, else when it next connects). Grants add up; an expired one stops counting. \
                    Without --rate, --offline-grace or --expires there is no rate limit, no grace and no expiry.
                    """
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "DEVICE MODEL (a device id or name), or only MODEL with --selector.") var names: [String]
            @Option(help: "A label KEY=VALUE the devices must have (repeatable), instead of DEVICE.") var selector:
                [String] = []
            @Option(help: "Queries granted.") var queries: UInt64
            @Option(help: "Lifetime, e.g. 30d, 12h (default: no expiry).") var expires: String?
            @Option(help: "Price, e.g. 1.50/1000 (per 1,000 queries) or 0.0015 (per query).") var price: String?
            @Option(help: "Currency code, e.g. USD.") var currency: String = ""
            @Option(help: "At most this many queries a second on the device, e.g. 20/s.") var rate: String?
            @Option(help: "Extra queries the device may answer while it cannot reach the coordinator.")
            var offlineGrace: Int = 0
            @Option(help: "Price of a query the coordinator answers for the device (offloaded), e.g. 5/1000.")
            var cloudPrice: String?

            func validate() throws {
                _ = try split(names, selector: selector)
                guard queries >= 1 else { throw ValidationError("--queries must be at least 1") }
                guard offlineGrace >= 0 else { throw ValidationError("--offline-grace must be 0 or more") }
            }

            func run() async throws {
                let (device, model) = try split(names, selector: selector)
                let views = try await target.inspector().grantQuota(
                    QuotaRequest(
                        device: device,
                        selector: try CommandLineValues.pairs(selector, option: "--selector"),
                        model: model,
                        queries: queries,
                        expiresIn: try expires.map(CommandLineValues.duration),
                        priceMicros: try price.map(CommandLineValues.priceMicros) ?? 0,
                        currency: currency,
                        ratePerSecond: try rate.map(CommandLineValues.ratePerSecond) ?? 0,
                        offlineGrace: offlineGrace,
                        cloudPriceMicros: try cloudPrice.map(CommandLineValues.priceMicros) ?? 0
                    )
                )
                try emit(views, json: output.json) { views in
                    views.map { "granted #\($0.sequence): \($0.queries) queries of \($0.model) to \($0.device)" }
                        .joined(separator: "\n")
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke every grant of a model to a device (or to every device matching --selector)."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "DEVICE MODEL, or only MODEL with --selector.") var names: [String]
            @Option(help: "A label KEY=VALUE the devices must have (repeatable).") var selector: [String] = []

            func validate() throws { _ = try split(names, selector: selector) }

            func run() async throws {
                let (device, model) = try split(names, selector: selector)
                let views = try await target.inspector().grantQuota(
                    QuotaRequest(
                        device: device,
                        selector: try CommandLineValues.pairs(selector, option: "--selector"),
                        model: model,
                        revoke: true
                    )
                )
                try emit(views, json: output.json) { views in
                    views.map { "revoked the grants of \($0.model) to \($0.device) (#\($0.sequence))" }
                        .joined(separator: "\n")
                }
            }
        }
    }

    struct Quotas: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List quota grants and revokes.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try emit(try await target.inspector().quotas(), json: output.json, human: Output.quotasTable)
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queries answered and their amount, per device and model, from the verified usage ledgers.",
            subcommands: [Show.self, Export.self],
            defaultSubcommand: Show.self
        )

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Usage per device and model.")
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Option(help: "Only this device (id or name).") var device: String?
            @Option(help: "Only this model.") var model: String?
            @Option(help: "Receipts from this day (YYYY-MM-DD, UTC) or ISO 8601 instant.") var since: String?
            @Option(help: "Receipts before this day (YYYY-MM-DD, UTC) or ISO 8601 instant.") var until: String?

            func run() async throws {
                let filter = UsageFilter(
                    device: device,
                    model: model,
                    since: try since.map(instant),
                    until: try until.map(instant)
                )
                try emit(try await target.inspector().usage(filter), json: output.json, human: Output.usageTable)
            }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "One CSV line per device, model and day (UTC) of a month; amounts exact to 6 decimals."
            )
            @OptionGroup var target: TargetOptions
            @Option(help: "Output format (only csv).") var format: String = "csv"
            @Option(help: "The month, YYYY-MM.") var period: String

            func validate() throws {
                guard format == "csv" else { throw ValidationError("--format: only csv is supported") }
            }

            func run() async throws {
                print(try await target.inspector().usageCSV(period: period), terminator: "")
            }
        }
    }
}

/// `DEVICE MODEL`, or `MODEL` with a selector.
private func split(_ names: [String], selector: [String]) throws -> (device: String, model: String) {
    switch (names.count, selector.isEmpty) {
    case (2, true): return (names[0], names[1])
    case (1, false): return ("", names[0])
    default: throw ValidationError("give DEVICE MODEL, or MODEL with --selector KEY=VALUE")
    }
}

/// `YYYY-MM-DD` (start of the day, UTC) or an ISO 8601 instant.
private func instant(_ text: String) throws -> Date {
    if let instant = ISO8601DateFormatter().date(from: text) { return instant }
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    guard let start = day.date(from: text) else {
        throw ValidationError("give a day YYYY-MM-DD or an ISO 8601 instant, got \"\(text)\"")
    }
    return start
}
