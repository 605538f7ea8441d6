import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetStore
import FleetWire
import Foundation

extension FleetCtl {
    struct Rollouts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Staged rollouts, newest first.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try emit(try await target.inspector().rollouts(), json: output.json) { rollouts in
                Table(
                    headers: [
                        "ID", "MODEL", "VERSION", "FROM", "STATE", "WAVE", "DEVICES", "INSTALLED", "FAILED", "REASON",
                    ],
                    rows: rollouts.map {
                        [
                            String($0.id), $0.model, "v\($0.version)", "v\($0.previousVersion)", $0.state,
                            "\($0.wave)/\($0.waves.count)", String($0.waves.reduce(0) { $0 + $1.devices }),
                            String($0.waves.reduce(0) { $0 + $1.installed }),
                            String($0.waves.reduce(0) { $0 + $1.failed }), $0.reason,
                        ]
                    }
                ).render()
            }
        }
    }

    struct Rollout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll a version pushed with --no-assign out in waves, and steer it.",
            subcommands: [Start.self, Show.self, Pause.self, Resume.self, Abort.self, Promote.self]
        )

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Start a staged rollout of a held version (pushed with `model push --no-assign`).",
                discussion: """
                    Eligible devices (the selector's labels, a variant of the version fits) are split at random, \
                    from a recorded seed, into waves reaching the given cumulative percentages. A wave's devices \
                    are assigned the version; when each has installed or failed and the soak has passed, the \
                    next wave starts. Install failures and refusals above --max-install-failures halt the \
                    rollout; with --auto-rollback the started waves' devices return to the previous version. \
                    Health gates compare the started wave's devices (on the new version) with the control group \
                    (the devices of later waves, on the previous version) since the wave started, from the \
                    devices' health summaries: a gate decides once each side has --gate-min-devices devices with \
                    --gate-min-queries queries, comparing the medians over those devices; a failed gate halts \
                    like install failures. A gate is turned off with `off`. The crash-loop gate (--max-restarts) \
                    compares the agent restarts per device, the latency gate (--max-latency-increase, off unless \
                    given) each device's 95th-percentile latency. A wave whose soak ends while an enabled gate \
                    still waits for evidence is held (it does not pass on no evidence) until its gates decide or \
                    `rollout promote` passes it: turn off the gates the fleet cannot feed. A wave device that has \
                    not installed the version --device-timeout after its wave started counts as timed out, with the \
                    failures.
                    """
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Model name.") var model: String
            @Option(help: "The version to roll out.") var version: Int
            @Option(help: "Only this variant (default: whichever variant fits each device).") var variant: String?
            @Option(help: "Only devices with this label KEY=VALUE (repeatable: all must match).")
            var selector: [String] = []
            @Option(help: "Cumulative percentages of the eligible devices, increasing, ending at 100.")
            var waves = "1,10,50,100"
            @Option(help: "How long a settled wave runs the version before the next wave starts, e.g. 10m (0: none).")
            var waveSoak = "10m"
            @Option(help: "The fewest devices a wave takes (while devices remain).") var minDevicesPerWave = 3
            @Option(help: "Halt when more of a wave's devices than this fail or refuse the install, e.g. 2%.")
            var maxInstallFailures = "2%"
            @Option(help: "Halt when the wave's error rate exceeds the control group's by more than this, e.g. 1%.")
            var maxErrorRate = "1%"
            @Option(
                help: "Halt when the wave's accuracy on feedback is this many percentage points below the control's."
            )
            var maxAccuracyDrop = "2"
            @Option(help: "Halt when the wave's mean confidence is this much (0 to 1) below the control group's.")
            var maxConfidenceDrop = "0.05"
            @Option(
                help: """
                    Halt when the wave's input drift (median feature PSI against its version's reference statistics) \
                    exceeds the control group's (against theirs) by more than this.
                    """
            )
            var maxDriftPSI = "0.25"
            @Option(
                help: """
                    Halt when the wave's agent restarts per device (median since the wave started) exceed the control \
                    group's by more than this: the crash-loop gate.
                    """
            )
            var maxRestarts = "3"
            @Option(
                help: """
                    Halt when the wave's latency (median over devices of each one's 95th-percentile request latency) \
                    exceeds the control group's by more than this, e.g. 50% (default off: the latency buckets are a \
                    decade wide).
                    """
            )
            var maxLatencyIncrease = "off"
            @Option(
                help: """
                    A wave device that has not installed the version this long after its wave started counts as \
                    timed out, with the install failures, so an offline device does not hold its wave open (off: never).
                    """
            )
            var deviceTimeout = "1h"
            @Option(
                help: "Devices each side needs (each with --gate-min-queries queries) before a health gate decides."
            )
            var gateMinDevices = 3
            @Option(help: "Queries (labelled ones for accuracy) a device needs in the window to count for a gate.")
            var gateMinQueries = 50
            @Flag(
                help: "On a halt, send the started waves' devices a signed rollback directive to the previous version."
            )
            var autoRollback = false
            @Option(help: "The wave membership seed, to reproduce a membership (default: chosen and recorded).")
            var seed: UInt64?

            func validate() throws {
                if let seed, seed == 0 || seed > UInt64(Int64.max) {
                    throw ValidationError("--seed takes 1 to \(Int64.max)")
                }
                guard minDevicesPerWave >= 1 else { throw ValidationError("--min-devices-per-wave is at least 1") }
                guard gateMinDevices >= 1 else { throw ValidationError("--gate-min-devices is at least 1") }
                guard gateMinQueries >= 1 else { throw ValidationError("--gate-min-queries is at least 1") }
            }

            /// A gate's limit: nil for `off`, else a number in `range`.
            static func limit(
                _ text: String,
                option: String,
                range: ClosedRange<Double>,
                percent: Bool = false
            ) throws
                -> Double?
            {
                if text == "off" { return nil }
                if percent && range == 0...100 { return try CommandLineValues.percentage(text, option: option) }
                let number = percent && text.hasSuffix("%") ? String(text.dropLast()) : text
                guard let value = Double(number), value.isFinite, range.contains(value) else {
                    throw ValidationError(
                        "\(option) takes a number from \(range.lowerBound) to \(range.upperBound), or off; not \"\(text)\""
                    )
                }
                return value
            }

            func run() async throws {
                let percentages = try waves.split(separator: ",").map {
                    guard let value = Int($0.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--waves takes percentages separated by commas, e.g. 1,10,50,100")
                    }
                    return value
                }
                var plan = RolloutPlan(
                    model: model,
                    version: version,
                    variant: variant,
                    selector: try CommandLineValues.pairs(selector, option: "--selector"),
                    waves: percentages,
                    waveSoak: waveSoak == "0" ? .zero : try CommandLineValues.duration(waveSoak),
                    minDevicesPerWave: minDevicesPerWave,
                    maxInstallFailuresPercent: try CommandLineValues.percentage(
                        maxInstallFailures,
                        option: "--max-install-failures"
                    ),
                    autoRollback: autoRollback,
                    seed: seed
                )
                plan.gates = RolloutGatePolicy(
                    maximumErrorRateIncrease: try Self.limit(
                        maxErrorRate,
                        option: "--max-error-rate",
                        range: 0...100,
                        percent: true
                    ),
                    maximumAccuracyDrop: try Self.limit(maxAccuracyDrop, option: "--max-accuracy-drop", range: 0...100),
                    maximumConfidenceDrop: try Self.limit(
                        maxConfidenceDrop,
                        option: "--max-confidence-drop",
                        range: 0...1
                    ),
                    maximumDriftPSI: try Self.limit(maxDriftPSI, option: "--max-drift-psi", range: 0...1000),
                    maximumRestartIncrease: try Self.limit(
                        maxRestarts,
                        option: "--max-restarts",
                        range: 0...Double(HealthSummary.maximumStarts)
                    ),
                    maximumLatencyIncreasePercent: try Self.limit(
                        maxLatencyIncrease,
                        option: "--max-latency-increase",
                        range: 0...100_000,
                        percent: true
                    ),
                    minimumDevices: gateMinDevices,
                    minimumQueries: gateMinQueries
                )
                plan.deviceTimeout = deviceTimeout == "off" ? nil : try CommandLineValues.duration(deviceTimeout)
                let rollout = try await target.inspector().startRollout(plan)
                try emit(rollout, json: output.json) { rollout in
                    "started rollout \(rollout.id): \(rollout.model) v\(rollout.version), "
                        + "\(rollout.waves.map { String($0.devices) }.joined(separator: "+")) device(s) in "
                        + "\(rollout.waves.count) wave(s), seed \(rollout.seed); `fleetctl rollout show \(rollout.id)`"
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A rollout's waves, outcomes and decisions.")
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "The rollout's id (`fleetctl rollouts`).") var id: Int

            func run() async throws {
                try emit(try await target.inspector().rollout(id: id), json: output.json) { rollout in
                    let head =
                        "rollout \(rollout.id): \(rollout.model) v\(rollout.version) (from v\(rollout.previousVersion)), "
                        + "\(rollout.state), wave \(rollout.wave) of \(rollout.waves.count), seed \(rollout.seed)"
                        + (rollout.reason.isEmpty ? "" : "\n\(rollout.reason)")
                    let table = Table(
                        headers: [
                            "WAVE", "PERCENT", "DEVICES", "INSTALLED", "FAILED", "TIMED OUT", "HEALTH", "DECISION",
                            "REASON",
                        ],
                        rows: rollout.waves.map {
                            [
                                String($0.number), "\($0.percent)%", String($0.devices), String($0.installed),
                                String($0.failed), String($0.timedOut), $0.health,
                                $0.decision + ($0.heldBy.map { " (\($0.joined(separator: ", ")))" } ?? ""), $0.reason,
                            ]
                        }
                    ).render()
                    let checks: [String] = rollout.waves.compactMap { wave in
                        wave.healthCheck.map { check in
                            let since = check.windowStart.formatted(.iso8601)
                            let gates = check.gates.map { "  \($0.gate): \($0.verdict): \($0.why)" }
                            return "wave \(wave.number) health since \(since): wave \(Self.side(check.wave)); "
                                + "control \(Self.side(check.control))\n" + gates.joined(separator: "\n")
                        }
                    }
                    return head + "\n" + table + (checks.isEmpty ? "" : "\n" + checks.joined(separator: "\n"))
                }
            }

            /// One side of a health check for the evidence line.
            static func side(_ side: HealthSide) -> String {
                let counts = "\(side.devices) device(s), \(side.queries) queries, \(side.labelled) labelled"
                let restarts = side.restartsPerDevice.map { String(format: "%g", $0) } ?? "-"
                let latency = side.latencyP95Milliseconds.map { String(format: "%.3g ms", $0) } ?? "-"
                return counts + ", \(side.starts) agent start(s) (median \(restarts) per device), p95 latency "
                    + "\(latency), input drift \(psi(side.inputDriftPSI))"
            }

            /// An input drift PSI for the evidence line, `-` without one.
            static func psi(_ value: Double?) -> String {
                value.map { String(format: "%.3f", $0) } ?? "-"
            }
        }

        struct Pause: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Start no further wave until resumed.")
            @OptionGroup var control: ControlOptions
            func run() async throws { try await control.send(.pause, "paused") }
        }

        struct Resume: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Let a paused rollout carry on.")
            @OptionGroup var control: ControlOptions
            func run() async throws { try await control.send(.resume, "resumed") }
        }

        struct Abort: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Start no further wave, ever; devices that have the version keep it."
            )
            @OptionGroup var control: ControlOptions
            func run() async throws { try await control.send(.abort, "aborted") }
        }

        struct Promote: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Pass a held wave, or assign the version to every remaining device at once.",
                discussion: """
                    On a running rollout whose current wave is held (its soak ended while an enabled health gate \
                    still waits for evidence), passes that wave: the next wave starts and is judged in turn. \
                    Otherwise the version goes to every remaining device at once and the rollout completes.
                    """
            )
            @OptionGroup var control: ControlOptions
            func run() async throws {
                let held = try? await control.target.inspector().rollout(id: control.id)
                guard let held, held.state == "running", let wave = held.waves.first(where: { $0.number == held.wave }),
                    wave.decision == "held"
                else { return try await control.send(.promote, "promoted") }
                try await control.send(.promote, "promoted: its held wave \(wave.number) passed")
            }
        }
    }
}

/// What `rollout pause|resume|abort|promote` share.
struct ControlOptions: ParsableArguments {
    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The rollout's id (`fleetctl rollouts`).") var id: Int

    /// What `--json` prints when the rollout cannot be read afterwards (no data directory here).
    struct Done: Encodable {
        var id: Int
        var action: String
    }

    /// Sends the action; prints what was done, or with `--json` the rollout as `rollout show --json` prints it.
    func send(_ action: ControlRollout.Action, _ done: String) async throws {
        let inspector = try target.inspector()
        try await inspector.controlRollout(id: id, action: action)
        guard output.json else { return print("rollout \(id) \(done)") }
        if let rollout = try? await inspector.rollout(id: id) {
            print(try Output.json(rollout))
        } else {
            print(try Output.json(Done(id: id, action: "\(action)")))
        }
    }
}
