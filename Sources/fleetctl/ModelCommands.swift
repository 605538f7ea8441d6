import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetModelIO
import Foundation

extension FleetCtl {
    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models with their versions and variants.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try emit(try await target.inspector().models(), json: output.json) { models in
                Table(
                    headers: ["MODEL", "LATEST", "VERSIONS", "VARIANTS", "DEVICES"],
                    rows: models.map {
                        [
                            $0.name, "v\($0.latestVersion)", $0.versions.map { "v\($0)" }.joined(separator: ","),
                            $0.variants.joined(separator: ","), String($0.devices),
                        ]
                    }
                ).render()
            }
        }
    }

    struct Model: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish and inspect models.",
            subcommands: [Push.self, Show.self, Pin.self, Unpin.self, Init.self]
        )

        struct Push: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Upload one variant of a model version; devices that fit it get it as a delta.",
                discussion: "Versions only go up: pushing a lower version, or the same variant twice, is refused."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Model name (A-Z a-z 0-9 . _ -).") var name: String
            @Option(help: "Version number (1, 2, …).") var version: Int
            @Option(help: "Variant name, e.g. fp32 or int8.") var variant: String
            @Option(help: "The weights file (safetensors).") var file: String
            @Option(
                help: """
                    safetensors (default: the coordinator and the agents check that the file loads) or opaque \
                    (another runtime's format, delivered as bytes; never replaces a safetensors model).
                    """
            )
            var format: String = "safetensors"
            @Option(help: "Declared accuracy, used to pick the best variant that fits.") var accuracy: Double?
            @Option(help: "Declared cost (free text or a number, shown to operators).") var cost: String?
            @Option(help: "Minimum RAM, e.g. 64MiB.") var minRam: String?
            @Option(help: "Minimum free storage, e.g. 1MiB.") var minStorage: String?
            @Option(help: "Allowed CPU architectures, comma-separated (e.g. aarch64,x86_64).") var arch: String?
            @Option(help: "Required accelerator, e.g. npu.") var accelerator: String?
            @Option(help: "Extra metadata KEY=VALUE (repeatable).") var metadata: [String] = []
            @Option(
                help: """
                    How devices keep it: plain (a file applications open), at-rest (sealed on disk; applications \
                    ask the agent's socket), agent-only (sealed; only the agent runs it).
                    """
            ) var protection: String = "plain"
            @Flag(help: "Meter it on devices from the start: no query is answered without a quota grant.")
            var metered = false
            @Flag(
                help: """
                    Publish without assigning it to any device: devices keep the previous version until \
                    `fleetctl rollout start` assigns it wave by wave (or a later push without the flag).
                    """
            )
            var noAssign = false
            @OptionGroup var reference: ReferenceDataOptions

            func run() async throws {
                var requirements: [String: String] = [:]
                if let minRam { requirements["min-ram"] = String(try CommandLineValues.byteCount(minRam)) }
                if let minStorage { requirements["min-storage"] = String(try CommandLineValues.byteCount(minStorage)) }
                if let arch { requirements["arch"] = arch }
                if let accelerator { requirements["accelerator"] = accelerator }
                var extra = try CommandLineValues.pairs(metadata, option: "--metadata")
                if let accuracy { extra["accuracy"] = String(accuracy) }
                if let cost { extra["cost"] = cost }
                if protection != "plain" { extra["protection"] = protection }
                if metered { extra["metered"] = "true" }
                guard let modelFormat = ModelFormat(rawValue: format) else {
                    throw ValidationError("--format takes safetensors or opaque, not \"\(format)\"")
                }
                guard extra[ModelFormat.metadataKey] == nil else {
                    throw ValidationError("set the format with --format, not --metadata \(ModelFormat.metadataKey)=…")
                }
                if modelFormat == .opaque { extra[ModelFormat.metadataKey] = modelFormat.rawValue }
                let statistics = try reference.package(target: target, model: name, version: version, modelFile: file)
                let bar = ProgressBar(label: "\(name) v\(version) \(variant)", enabled: !output.json)
                let pushed = try await target.inspector().pushModel(
                    name: name,
                    version: version,
                    variant: variant,
                    file: file,
                    requirements: requirements,
                    metadata: extra,
                    referenceStatistics: statistics?.bytes ?? [],
                    assign: !noAssign,
                    progress: { sent, total in bar.update(sent, total) }
                )
                bar.finish()
                if let statistics { ReferenceDataOptions.report(statistics.view) }
                try emit(pushed, json: output.json) { pushed in
                    "published \(pushed.model) v\(pushed.version) \(pushed.variant) (\(pushed.size) bytes, sha256 \(pushed.sha256.prefix(16))…); "
                        + "\(pushed.assignedDevices) device(s) assigned"
                        + (noAssign
                            ? " (held for a rollout: `fleetctl rollout start \(pushed.model) --version \(pushed.version)`)"
                            : "")
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Versions and variants of a model, with device counts."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Model name.") var name: String

            func run() async throws {
                try emit(try await target.inspector().model(named: name), json: output.json) { variants in
                    Table(
                        headers: [
                            "VERSION", "VARIANT", "SIZE", "ACCURACY", "REQUIREMENTS", "ASSIGNED", "RUNNING", "SHA256",
                        ],
                        rows: variants.map {
                            [
                                "v\($0.version)", $0.variant, Output.byteCount(UInt64($0.size)),
                                $0.accuracy.map { String(format: "%.3f", $0) } ?? "-",
                                $0.requirements.sorted { $0.key < $1.key }.map { Output.setting($0.key, $0.value) }
                                    .joined(
                                        separator: ","
                                    ),
                                String($0.assignedDevices), String($0.runningDevices), String($0.sha256.prefix(12)),
                            ]
                        }
                    ).render()
                }
            }
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold one device (or every device) on a version of a model.",
            discussion: """
                Pinning below what a device runs re-sends the old release manifest, which agents refuse as a \
                rollback (and report). Add --rollback to send a separately signed rollback directive instead.
                """
        )
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Model name.") var name: String
        @Option(help: "The version to hold.") var version: Int
        @Option(help: "Only this device, by id or name (default: every device).") var device: String?
        @Flag(help: "Sign a rollback directive so devices may go below their installed version.") var rollback = false
        @Option(
            help: """
                How long to wait for the online devices concerned to run or refuse the version (0: do not wait); \
                exits 1 when none runs it and one refused.
                """
        )
        var wait = "15s"

        func run() async throws {
            let outcome = try await target.inspector().pinAndWatch(
                model: name,
                version: version,
                device: device,
                rollback: rollback,
                wait: wait == "0" ? .zero : try CommandLineValues.duration(wait)
            )
            try emit(outcome, json: output.json) { outcome in
                let what = "pinned \(name) to v\(version) for \(device ?? "every device")"
                return
                    ([what + (rollback ? " (rollback directive)" : "")]
                    + outcome.devices.map {
                        "  \($0.name) (\($0.device)): \($0.outcome)" + ($0.detail.map { ": \($0)" } ?? "")
                    })
                    .joined(separator: "\n")
            }
            if outcome.nobodyAccepted {
                throw CommandFailure(
                    "no device runs \(name) v\(version) after the pin: "
                        + (rollback
                            ? "see the reasons above"
                            : "agents refuse a version below the one they run; add --rollback to sign a rollback directive")
                )
            }
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a device follow the newest version again.")
        @OptionGroup var target: TargetOptions
        @Argument(help: "Model name.") var name: String
        @Option(help: "Only this device, by id or name (default: the fleet-wide pin).") var device: String?

        func run() async throws {
            let inspector = try target.inspector()
            var deviceID: String?
            if let device { deviceID = try await inspector.resolveDevice(device).id }
            try await inspector.pin(model: name, version: 0, deviceID: deviceID, rollback: false)
            print("unpinned \(name) for \(device ?? "every device")")
        }
    }

    struct Transfers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What each model delivery cost on the wire.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this device (id or name).") var device: String?
        @Option(help: "Only this model.") var model: String?

        func run() async throws {
            let inspector = try target.inspector()
            var deviceID: String?
            if let device { deviceID = try await inspector.resolveDevice(device).id }
            let records = try await inspector.transfers(deviceID: deviceID, model: model)
            try emit(records, json: output.json) { records in
                Table(
                    headers: [
                        "DEVICE", "MODEL", "VERSION", "VARIANT", "ENCODING", "WIRE BYTES", "FULL (zlib)", "RESUMED AT",
                    ],
                    rows: records.map {
                        [
                            $0.deviceID, $0.model, "v\($0.version)", $0.variant, $0.encoding, String($0.wireBytes),
                            String($0.fullBytes), $0.resumedFrom > 0 ? String($0.resumedFrom) : "-",
                        ]
                    }
                ).render()
            }
        }
    }
}

/// A one-line progress bar on stderr (omitted for --json and when stderr is not a terminal).
final class ProgressBar: Sendable {
    let label: String
    let enabled: Bool

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled && isatty(2) == 1
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done * 100 / total)% \(done)/\(total) bytes".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
