import ArgumentParser
import FleetAgent
import FleetCommandLine
import FleetLearning
import FleetModelIO
import FleetStore
import FleetTrust
import Foundation

/// `fleet-agent consent grant|revoke|show`: the device owner's consent, signed with the device's key.
struct Consent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Grant, revoke or show consent (purposes: drift-stats, samples, training, feedback). Nothing is granted by default.",
        discussion: """
            Each change is a record signed with the device's identity key, kept in DATA_DIR/agent.sqlite and synced \
            to the coordinator, which keeps the full history. Revoking samples empties the local sample queue at \
            once and makes the coordinator erase this device's stored samples when it hears of it.
            """,
        subcommands: [Grant.self, Revoke.self, Show.self]
    )

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant consent for one purpose.")
        @Argument(help: "drift-stats, samples or training.") var purpose: ConsentPurpose
        @Option(help: "The agent's data directory.") var dataDir: String
        @Option(help: "Last day (YYYY-MM-DD, to its end in UTC) or an ISO 8601 instant; default: no end.")
        var until: String?

        func run() async throws {
            let book = try await ownerBook(dataDir)
            let end = try until.map(parseUntil)
            let (record, _) = try await book.change(purpose, action: .grant, until: end)
            print(
                "granted \(purpose.rawValue)"
                    + (record.until.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? "")
                    + " (record #\(record.sequence), synced with the coordinator when the agent is connected)"
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke consent for one purpose.")
        @Argument(help: "drift-stats, samples or training.") var purpose: ConsentPurpose
        @Option(help: "The agent's data directory.") var dataDir: String

        func run() async throws {
            let book = try await ownerBook(dataDir)
            let (record, purged) = try await book.change(purpose, action: .revoke)
            var text = "revoked \(purpose.rawValue) (record #\(record.sequence))"
            if purpose == .samples { text += "; \(purged) queued sample(s) deleted from this device" }
            print(text)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the consent in force and its history.")
        @Option(help: "The agent's data directory.") var dataDir: String
        @Flag(help: "Print JSON for scripts.") var json = false

        struct View: Encodable {
            struct Record: Encodable {
                var sequence: UInt64
                var purpose: String
                var action: String
                var until: String?
                var issuedAt: String
                var synced: Bool
                var refused: String?
            }
            var device: String
            var state: [String: String]
            var history: [Record]
        }

        func run() async throws {
            let book = try await ownerBook(dataDir)
            let rows = try await book.store.consentRecords()
            let format = ISO8601DateFormatter()
            let view = View(
                device: book.deviceID,
                state: try await book.ledger().describe(at: Date()),
                history: rows.map {
                    View.Record(
                        sequence: $0.sequence,
                        purpose: $0.purpose,
                        action: $0.action,
                        until: $0.until.map(format.string),
                        issuedAt: format.string(from: $0.issuedAt),
                        synced: $0.syncedAt != nil && $0.refused == nil,
                        refused: $0.refused
                    )
                }
            )
            if json {
                print(try jsonText(view))
                return
            }
            var lines = ["Device \(view.device)"]
            for purpose in ConsentPurpose.allCases {
                lines.append(
                    "  \(purpose.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(view.state[purpose.rawValue] ?? "-")"
                )
            }
            lines.append("History:")
            lines +=
                view.history.isEmpty
                ? ["  none"]
                : view.history.map {
                    "  #\($0.sequence) \($0.issuedAt) \($0.action) \($0.purpose)"
                        + ($0.until.map { " until \($0)" } ?? "")
                        + ($0.refused.map { "  REFUSED: \($0)" } ?? ($0.synced ? "" : "  (not yet synced)"))
                }
            print(lines.joined(separator: "\n"))
        }
    }
}

extension ConsentPurpose: ExpressibleByArgument {}

/// Options shared by the commands that read feature rows from a CSV file.
struct RowFileOptions: ParsableArguments {
    @Argument(help: "CSV with a header: feature columns (then optionally `label` and other columns, ignored).")
    var file: String
    @Option(help: "The agent's data directory.") var dataDir: String
    @Option(help: "The installed model to use (default: the only one installed).") var model: String?
    @Option(
        help: """
            Multiply features by this before the model (default: the model's `feature-scale` metadata; else \
            0.0625 for digits files with columns p0..p63; else 1).
            """
    )
    var featureScale: Float?
    @Option(help: "The agent's local socket (default: DATA_DIR/agent.sock).") var localSocket: String?
    @Flag(help: "Do not use the running daemon: compute here (the drift window and queue are shared via SQLite).")
    var local = false
    @Flag(help: "Print JSON for scripts.") var json = false

    var socketPath: String { localSocket ?? dataDir + "/agent.sock" }
}

/// `fleet-agent infer FILE.csv`: runs the installed model on the rows, through the daemon's local socket.
struct Infer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: """
            Run the installed model on the rows of a CSV file (feeds the drift summary under consent; a `label` \
            column is reported as feedback under `feedback` consent).
            """,
        discussion: """
            Talks to the running daemon over its local socket (Protocol/LOCAL.md). Without a daemon (or with \
            --local) it computes here, writing to the same drift window in DATA_DIR/agent.sqlite.
            """
    )
    @OptionGroup var options: RowFileOptions
    @Option(help: "never (default), auto (on the coordinator when no model is installed here) or always.")
    var offload: String?
    @Option(help: "With --offload auto: offload while N inferences are in flight on the daemon (default: its own).")
    var offloadBusy: Int?

    struct View: Encodable {
        var model: String
        var version: Int
        var rows: Int
        var predictions: [Int]
        var confidences: [Float]
        var observed: Bool
        var via: String
        /// Rows refused by the model's quota or rate limit (not answered), and the quota after the last request.
        var refused: Int = 0
        var refusedRows: [Int] = []
        var quota: QuotaStateView? = nil
        /// With a `label` column: the share of labelled rows predicted right, and how many rows had a label.
        var accuracy: Double? = nil
        var labelledRows: Int? = nil
        /// Labelled rows reported as feedback (SPEC 5.41); 0 without `feedback` consent.
        var feedback: Int? = nil
    }

    /// Reports the `label` column as feedback on the predictions, in requests of at most 500 rows; returns how
    /// many labels were counted (0, with a note on stderr, without `feedback` consent).
    func reportFeedback(model: String, predictions: [Int], labels: [Int?]) async throws -> Int {
        var counted = 0
        for start in stride(from: 0, to: predictions.count, by: 500) {
            let end = min(start + 500, predictions.count)
            let (response, _) = try await send(
                LocalRequest(
                    op: "feedback",
                    model: model,
                    predictions: Array(predictions[start..<end]),
                    labels: Array(labels[start..<end])
                ),
                options
            )
            guard response.ok else {
                guard response.error == "no-consent" else {
                    throw CommandFailure("feedback refused: \(response.message ?? response.error ?? "?")")
                }
                FileHandle.standardError.write(
                    Data("labels not reported as feedback: \(response.message ?? "")\n".utf8)
                )
                return counted
            }
            counted += response.count ?? 0
        }
        return counted
    }

    func run() async throws {
        let table = try readRows(options)
        let rows = try await scaledRows(options, table)
        var view = View(
            model: "",
            version: 0,
            rows: rows.count,
            predictions: [],
            confidences: [],
            observed: true,
            via: ""
        )
        var answeredRows: [Int] = []
        var refusal = ""
        for start in stride(from: 0, to: rows.count, by: 500) {
            let chunk = Array(rows[start..<min(start + 500, rows.count)])
            let (response, via) = try await send(
                LocalRequest(
                    op: "infer",
                    model: options.model,
                    rows: chunk,
                    offload: offload,
                    offloadBusy: offloadBusy
                ),
                options
            )
            view.via = response.via == "cloud" ? "cloud" : via
            view.quota = response.quota ?? view.quota
            guard response.ok else {
                guard response.error == "quota-exhausted" || response.error == "rate-limited" else {
                    throw CommandFailure("infer refused: \(response.message ?? response.error ?? "?")")
                }
                view.model = response.model ?? view.model
                view.refusedRows += Array(start..<start + chunk.count)
                refusal = "\(response.error ?? "?"): \(response.message ?? "")"
                continue
            }
            let answered = response.predictions ?? []
            view.model = response.model ?? ""
            view.version = response.version ?? 0
            view.predictions += answered
            view.confidences += response.confidences ?? []
            view.observed = view.observed && response.observed == true
            answeredRows += Array(start..<start + answered.count)
            view.refusedRows += Array(start + answered.count..<start + chunk.count)
        }
        view.refused = view.refusedRows.count
        let labelled = zip(view.predictions, answeredRows.map { table.labels?[$0] ?? nil }).compactMap {
            prediction,
            label in label.map { $0 == prediction }
        }
        if !labelled.isEmpty {
            view.labelledRows = labelled.count
            view.accuracy = Double(labelled.filter { $0 }.count) / Double(labelled.count)
            // Feedback is about the model installed here; the coordinator's answers are not counted.
            if view.via != "cloud" {
                view.feedback = try await reportFeedback(
                    model: view.model,
                    predictions: view.predictions,
                    labels: answeredRows.map { table.labels?[$0] ?? nil }
                )
            }
        }
        if options.json {
            print(try jsonText(view))
        } else {
            let labels = table.labels
            print("ROW\tPREDICTION\tCONFIDENCE" + (labels == nil ? "" : "\tLABEL"))
            for (position, prediction) in view.predictions.enumerated() {
                let index = answeredRows[position]
                let label = labels.map { "\t" + ($0[index].map(String.init) ?? "-") } ?? ""
                print("\(index)\t\(prediction)\t\(String(format: "%.3f", view.confidences[position]))\(label)")
            }
            let accuracy =
                view.accuracy.map {
                    "; accuracy \(String(format: "%.3f", $0)) on \(view.labelledRows ?? 0) labelled row(s)"
                } ?? ""
            print(
                "\(view.refused > 0 ? "\(view.predictions.count) of " : "")\(view.rows) row(s) through \(view.model) "
                    + "v\(view.version) (\(view.via))\(accuracy); drift summary: "
                    + (view.observed
                        ? "recorded" : "not recorded (no drift-stats consent or no reference statistics yet)")
            )
        }
        if view.refused > 0 {
            throw CommandFailure(
                "\(view.refused) of \(view.rows) row(s) refused and not answered (\(refusal.isEmpty ? "quota" : refusal))"
            )
        }
    }
}

/// `fleet-agent samples add FILE.csv` and `fleet-agent samples list`.
struct Samples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offer samples for upload (kept only under samples consent) and list the queue.",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue the rows of a CSV file as samples (inputs, the model's prediction, `label` if present)."
        )
        @OptionGroup var options: RowFileOptions

        func run() async throws {
            let table = try readRows(options)
            let rows = try await scaledRows(options, table)
            var queued = 0
            var queueSize = 0
            for start in stride(from: 0, to: rows.count, by: 500) {
                let end = min(start + 500, rows.count)
                let request = LocalRequest(
                    op: "sample",
                    model: options.model,
                    rows: Array(rows[start..<end]),
                    labels: table.labels.map { Array($0[start..<end]) }
                )
                let (response, _) = try await send(request, options)
                guard response.ok else {
                    throw CommandFailure("samples refused (\(response.error ?? "?")): \(response.message ?? "")")
                }
                queued += response.queued ?? 0
                queueSize = response.queueSize ?? queueSize
            }
            if options.json {
                struct View: Encodable {
                    var queued: Int
                    var queueSize: Int
                }
                print(try jsonText(View(queued: queued, queueSize: queueSize)))
            } else {
                print("queued \(queued) sample(s); \(queueSize) waiting for upload")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Samples waiting on this device, and the consent.")
        @Option(help: "The agent's data directory.") var dataDir: String
        @Flag(help: "Print JSON for scripts.") var json = false

        struct View: Encodable {
            var device: String?
            var samples: Int
            var byModel: [String: Int]
            var consent: String
        }

        func run() async throws {
            let store = try AgentStore.openReadOnly(path: try agentDatabase(dataDir))
            let state = AgentStateStore(store: store)
            let counts = try await store.sampleQueueCounts()
            var consent = "not granted"
            if try await state.enrolledDeviceID() != nil, let book = try? await ownerBook(dataDir) {
                consent = try await book.ledger().describe(at: Date())["samples"] ?? consent
            }
            let view = View(
                device: try await state.enrolledDeviceID(),
                samples: counts.values.reduce(0, +),
                byModel: counts,
                consent: consent
            )
            if json {
                print(try jsonText(view))
            } else {
                print(
                    "\(view.samples) sample(s) queued on \(view.device ?? "this device"); samples consent: \(view.consent)"
                )
                for (model, count) in counts.sorted(by: { $0.key < $1.key }) { print("  \(model): \(count)") }
            }
        }
    }
}

/// `fleet-agent drift`: what the agent has for drift reporting.
struct Drift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reference statistics received, open reporting windows and reports waiting to be sent."
    )
    @Option(help: "The agent's data directory.") var dataDir: String
    @Flag(help: "Print JSON for scripts.") var json = false

    struct View: Encodable {
        var references: [String]
        var openWindows: Int
        var pendingReports: Int
    }

    func run() async throws {
        let store = try AgentStore.openReadOnly(path: try agentDatabase(dataDir))
        let status = try await store.driftStatus()
        let view = View(
            references: status.references,
            openWindows: status.openWindows,
            pendingReports: status.pendingReports
        )
        if json {
            print(try jsonText(view))
        } else {
            print(
                "reference statistics: \(view.references.isEmpty ? "none yet" : view.references.joined(separator: ", "))\n"
                    + "open windows: \(view.openWindows); reports waiting: \(view.pendingReports)"
            )
        }
    }
}

// MARK: Helpers

/// The feature rows of `--file` (`FeatureRows`), or a failure that names the file and the line.
func readRows(_ options: RowFileOptions) throws -> FeatureRows {
    do { return try FeatureRows.read(file: options.file) } catch { throw CommandFailure(error.description) }
}

/// The rows scaled for the model: by `--feature-scale`, else as the installed model declares (a factor, or
/// `auto`: each row divided by its largest magnitude above 1), else 1/16 for digits pixels, else unchanged.
func scaledRows(_ options: RowFileOptions, _ table: FeatureRows) async throws -> [[Float]] {
    if let scale = options.featureScale { return table.rows.map { $0.map { $0 * scale } } }
    let models = InstalledModels(dataDirectory: options.dataDir)
    if let model = try? await models.model(named: options.model), model.declaresScaling {
        return table.rows.map(model.scale)
    }
    let scale: Float = table.looksLikeDigits ? 1 / 16 : 1
    return table.rows.map { $0.map { $0 * scale } }
}

/// Sends a request to the daemon; computes locally when none listens (or with `--local`).
func send(_ request: LocalRequest, _ options: RowFileOptions) async throws -> (LocalResponse, String) {
    if !options.local, FileManager.default.fileExists(atPath: options.socketPath),
        let response = try? await LocalSocketClient.request(request, path: options.socketPath)
    {
        return (response, "daemon")
    }
    let book = try await ownerBook(options.dataDir)
    var local = LocalObservability(
        store: book.store,
        consent: book,
        models: InstalledModels(dataDirectory: options.dataDir)
    )
    // Without the daemon the coordinator is not reachable from here: offline grace applies.
    let state = AgentStateStore(store: book.store)
    local.meter = Meter(
        store: book.store,
        identity: book.identity,
        deviceID: book.deviceID,
        releaseKey: { try await state.pinnedReleaseKey() },
        isConnected: { false },
        pushedMetered: { try await state.isPushedMetered($0) }
    )
    return (await local.respond(to: request), "local")
}

/// The consent book of the device whose state is in `dataDirectory`.
func ownerBook(_ dataDirectory: String) async throws -> AgentConsentBook {
    let store = try AgentStore(path: try agentDatabase(dataDirectory))
    let identity = try await AgentStateStore(store: store).loadOrCreateIdentity()
    return AgentConsentBook(store: store, identity: identity)
}

/// The agent's database in `dataDirectory`; a directory without one is named, with what it should be (never
/// created here: a mistyped --data-dir must not get a new identity).
func agentDatabase(_ dataDirectory: String) throws -> String {
    let path = dataDirectory + "/agent.sqlite"
    guard FileManager.default.fileExists(atPath: path) else {
        throw CommandFailure(
            "no agent state in \(dataDirectory): --data-dir is the directory fleet-agent runs with (start it there first)"
        )
    }
    return path
}

func parseUntil(_ text: String) throws -> Date {
    if let instant = ISO8601DateFormatter().date(from: text) { return instant }
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    guard let start = day.date(from: text) else {
        throw ValidationError("--until takes YYYY-MM-DD or an ISO 8601 instant, got \"\(text)\"")
    }
    return start.addingTimeInterval(86_400 - 0.001)
}

func jsonText(_ value: some Encodable) throws -> String { try JSONOutput.string(value) }
