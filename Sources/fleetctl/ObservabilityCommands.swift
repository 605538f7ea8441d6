import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetObserve
import Foundation

extension FleetCtl {
    struct Consent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each device's consent (drift-stats, samples, training, feedback) as the coordinator holds it.",
            discussion: "Built from the device-signed records the coordinator accepted; --json adds the full history."
        )
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this device (id or name).") var device: String?

        func run() async throws {
            try emit(
                try await target.inspector().consent(device: device),
                json: output.json,
                human: Output.consentTable
            )
        }
    }

    struct Samples: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consented samples the coordinator holds, and the consent they were accepted under.",
            subcommands: [List.self, Export.self],
            defaultSubcommand: List.self
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "What is held per device, and why (the default).")
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Option(help: "Only this device (id or name); shown even when it holds none.") var device: String?

            func run() async throws {
                try emit(
                    try await target.inspector().samples(device: device),
                    json: output.json,
                    human: Output.samplesTable
                )
            }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Export a model's consented samples for retraining (CSV: features, prediction, label, device, consent)."
            )
            @OptionGroup var target: TargetOptions
            @Argument(help: "Model name.") var model: String
            @Option(help: "Output format (csv).") var format = "csv"
            @Option(help: "Write to this file instead of standard output.") var out: String?

            func validate() throws {
                guard format == "csv" else { throw ValidationError("--format csv is the only format") }
            }

            func run() async throws {
                let csv = try await target.inspector().exportSamples(model: model)
                if let out {
                    try Data(csv.utf8).write(to: URL(fileURLWithPath: out))
                } else {
                    print(csv, terminator: "")
                }
            }
        }
    }

    struct Drift: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drift of a model: PSI and Jensen-Shannon distance against its reference, worst first.",
            discussion: """
                Per device (default), per region (--by region, from the `region` label) or fleet-wide (--by fleet). \
                A device's view is its newest drift reports holding at least 50 observations. A scope is drifted \
                when the median over features of the sample-size-corrected PSI passes the model's threshold \
                (default 0.2; JS default 0.1); the fleet also when its predictions' JS passes.
                """
        )
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Group by `region` or `fleet`.") var by: String?
        @Option(help: "Model version (default: the newest with reference statistics).") var version: Int?

        func validate() throws {
            if let by, by != "region" && by != "fleet" { throw ValidationError("--by takes region or fleet") }
        }

        func run() async throws {
            try emit(
                try await target.inspector().drift(model: model, version: version, by: by),
                json: output.json,
                human: Output.driftTable
            )
        }
    }
}

/// `fleetctl model push … --reference-data FILE.csv`: reference statistics pushed with the model version.
struct ReferenceDataOptions: ParsableArguments {
    @Option(
        help: """
            Training rows (CSV: feature columns, then optionally `label`): computes the reference statistics for \
            drift here, with the model's predictions on them, and pushes only the statistics.
            """
    )
    var referenceData: String?
    @Option(
        help: """
            Scale the reference rows by this (default: the model's `feature-scale` metadata; else 0.0625 for \
            digits columns p0..p63 in 0..16; else 1).
            """
    )
    var featureScale: Float?
    @Option(help: "PSI threshold for drift alerts on this model.") var driftPsi: Double = 0.2
    @Option(help: "Jensen-Shannon distance threshold on this model.") var driftJs: Double = 0.1
    @Option(help: "Laplace noise epsilon for the agents' drift histograms (default: none).") var driftEpsilon: Double?

    func validate() throws {
        guard driftPsi > 0, driftJs > 0, (driftEpsilon ?? 1) > 0 else {
            throw ValidationError("--drift-psi, --drift-js and --drift-epsilon must be positive")
        }
    }

    /// The reference package to commit with the model when `--reference-data` was given: computed before the
    /// upload, so a bad file fails the push with nothing sent.
    func package(
        target: TargetOptions,
        model: String,
        version: Int,
        modelFile: String
    ) throws -> (bytes: [UInt8], view: ReferencePushView)? {
        guard let referenceData else { return nil }
        return try target.inspector().referencePackage(
            model: model,
            version: version,
            modelFile: modelFile,
            referenceData: referenceData,
            featureScale: featureScale,
            thresholds: DriftThresholds(psi: driftPsi, jensenShannon: driftJs),
            laplaceEpsilon: driftEpsilon
        )
    }

    /// Reports the committed statistics on standard error.
    static func report(_ view: ReferencePushView) {
        FileHandle.standardError.write(
            Data(
                ("reference statistics for \(view.model) v\(view.version): \(view.rows) rows, \(view.features) features, "
                    + "\(view.featureBins) bins, scale \(view.featureScale), \(view.bytes) bytes\n").utf8
            )
        )
    }
}
