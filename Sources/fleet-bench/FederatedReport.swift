import Foundation

// The report of `fleet-bench federated`: the reference figures it is set against, and each section as text
// and JSON.

// MARK: - Reference figures (measured earlier, `../shared/README.md`)

/// The numpy/Flower runs on the same split and model; `nil`: not reached within 200 rounds.
enum ReferenceFigures {
    static let horizon = 200
    static let numpySeeds = 3
    static let numpyOneEpoch: (ninety: [Int?], ninetyFive: [Int?]) = ([54, 61, 78], [175, 193, nil])
    static let flowerOneEpoch: (ninety: Int?, ninetyFive: Int?) = (49, 183)
    static let numpyFiveEpochs: (ninety: [Int?], ninetyFive: [Int?]) = ([13, 20, 19], [41, 57, 70])
    static let numpyTenEpochs: (ninety: [Int?], ninetyFive: [Int?]) = ([12, 11, 9], [26, 36, 35])
    static let centralisedAccuracy = 0.965
}

// MARK: - Report

struct SeedRun: Codable {
    var seed: UInt64
    var ninetyRound: Int?
    var ninetyFiveRound: Int?
    var finalAccuracy: Double
    var bestAccuracy: Double
    var roundsRun: Int
    var failure: String?
    var seconds: Double

    init(seed: UInt64, outcome: RunOutcome) {
        self.seed = seed
        ninetyRound = outcome.firstRound(reaching: 0.9)
        ninetyFiveRound = outcome.firstRound(reaching: 0.95)
        finalAccuracy = outcome.finalAccuracy
        bestAccuracy = outcome.bestAccuracy
        roundsRun = outcome.accuracies.count
        failure = outcome.failure
        seconds = outcome.seconds
    }
}

/// Rounds with "not reached" as `horizon + 1`, so medians and ranges order them last.
private func medianRound(_ rounds: [Int?], horizon: Int) -> Int? {
    guard !rounds.isEmpty else { return nil }
    let sorted = rounds.map { $0 ?? horizon + 1 }.sorted()
    let middle = sorted[sorted.count / 2]  // upper middle for an even count: the conservative side
    return middle > horizon ? nil : middle
}

private func roundText(_ round: Int?, horizon: Int) -> String {
    round.map(String.init) ?? "> \(horizon)"
}

private func percent(_ value: Double) -> String {
    String(format: "%.1f%%", value * 100)
}

private func verdict(_ pass: Bool) -> String { pass ? "pass" : "FAIL" }

/// Percentage points with one decimal, without a "-0.0".
private func points(_ value: Double) -> String {
    let text = String(format: "%.1f", value)
    return text == "-0.0" ? "0.0" : text
}

struct ReferenceSection: Codable {
    struct Match: Codable {
        var milestone: String
        var oursMedian: Int?
        /// Our seeds that reached the milestone within `rounds`.
        var oursReached: Int
        var oursRuns: Int
        var numpyMedian: Int?
        var numpyReached: Int
        var flower: Int?
        var referenceLow: Int?
        var referenceHigh: Int?
        var within: Bool?

        /// ", slower than the numpy median" and the like ("not reached" counts as later than any round).
        func comparedWithNumpy(horizon: Int) -> String {
            guard within != nil else { return "" }
            let ours = oursMedian ?? horizon + 1
            let numpy = numpyMedian ?? horizon + 1
            if ours == numpy { return ", level with the numpy median" }
            return ours > numpy ? ", slower than the numpy median" : ", faster than the numpy median"
        }
    }

    var rounds: Int
    var runs: [SeedRun]
    var matches: [Match] = []

    init(rounds: Int, runs: [SeedRun]) {
        self.rounds = rounds
        self.runs = runs
        let horizon = ReferenceFigures.horizon
        let milestones: [(String, [Int?], [Int?], Int?)] = [
            (
                "90%", runs.map(\.ninetyRound), ReferenceFigures.numpyOneEpoch.ninety,
                ReferenceFigures.flowerOneEpoch.ninety
            ),
            (
                "95%", runs.map(\.ninetyFiveRound), ReferenceFigures.numpyOneEpoch.ninetyFive,
                ReferenceFigures.flowerOneEpoch.ninetyFive
            ),
        ]
        for (name, ours, numpy, flower) in milestones {
            let sorted = (numpy + [flower]).map { $0 ?? horizon + 1 }.sorted()
            let low = sorted.first ?? 0
            let high = sorted.last ?? 0
            let median = medianRound(ours, horizon: rounds)
            // A comparison needs our runs to see as far as the reference runs did.
            let within: Bool? =
                rounds >= horizon ? (low...high).contains(min(median ?? horizon + 1, horizon + 1)) : nil
            matches.append(
                Match(
                    milestone: name,
                    oursMedian: median,
                    oursReached: ours.count { $0 != nil },
                    oursRuns: ours.count,
                    numpyMedian: medianRound(numpy, horizon: horizon),
                    numpyReached: numpy.count { $0 != nil },
                    flower: flower,
                    referenceLow: low > horizon ? nil : low,
                    referenceHigh: high > horizon ? nil : high,
                    within: within
                )
            )
        }
    }

    var text: String {
        let horizon = ReferenceFigures.horizon
        var lines = [
            "1. Reference settings: 1 local epoch, SGD lr 0.05, batch 32, plain FedAvg, \(rounds) rounds",
            "",
        ]
        var rows: [[String]] = runs.map { run in
            [
                "TinyFleet (this run)", "\(run.seed)", roundText(run.ninetyRound, horizon: rounds),
                roundText(run.ninetyFiveRound, horizon: rounds), percent(run.finalAccuracy), percent(run.bestAccuracy),
            ]
        }
        rows.append([
            "TinyFleet (this run)", "median",
            roundText(medianRound(runs.map(\.ninetyRound), horizon: rounds), horizon: rounds),
            roundText(medianRound(runs.map(\.ninetyFiveRound), horizon: rounds), horizon: rounds), "", "",
        ])
        let numpy = ReferenceFigures.numpyOneEpoch
        for seed in numpy.ninety.indices {
            rows.append([
                "numpy FedAvg, reference (measured earlier)", "\(seed)",
                roundText(numpy.ninety[seed], horizon: horizon),
                roundText(numpy.ninetyFive[seed], horizon: horizon), "-", "-",
            ])
        }
        rows.append([
            "Flower 1.42 FedAvg, reference (measured earlier)", "-",
            roundText(ReferenceFigures.flowerOneEpoch.ninety, horizon: horizon),
            roundText(ReferenceFigures.flowerOneEpoch.ninetyFive, horizon: horizon), "-", "-",
        ])
        lines.append(renderTable(["run", "seed", "90% at", "95% at", "final", "best"], rows, leftColumns: 2))
        lines.append("")
        for match in matches {
            let low = roundText(match.referenceLow, horizon: horizon)
            let range = "\(low)–\(roundText(match.referenceHigh, horizon: horizon))"
            let outcome =
                match.within.map { $0 ? "within the reference spread" : "OUTSIDE the reference spread" }
                ?? "n/a (needs --rounds \(horizon))"
            let ours = roundText(match.oursMedian, horizon: rounds)
            let numpy = roundText(match.numpyMedian, horizon: horizon)
            let numpySeeds = ReferenceFigures.numpySeeds
            lines.append(
                "\(match.milestone): ours median round \(ours) (reached by \(match.oursReached)/\(match.oursRuns) "
                    + "seeds); numpy median \(numpy) (\(match.numpyReached)/\(numpySeeds) seeds), Flower "
                    + "\(roundText(match.flower, horizon: horizon)); reference spread \(range): \(outcome)"
                    + match.comparedWithNumpy(horizon: horizon)
            )
        }
        for run in runs where run.failure != nil {
            lines.append("seed \(run.seed) stopped: \(run.failure ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

struct DefaultsSection: Codable {
    struct Goal: Codable {
        var name: String
        var measured: String
        var pass: Bool
    }

    var rounds: Int
    var localEpochs: Int
    var runs: [SeedRun]
    var medianNinety: Int?
    var medianNinetyFive: Int?
    var medianFinal: Double
    var goals: [Goal]
    /// The reference settings' median rounds from this run, when they ran.
    var referenceMedianNinety: Int?
    var referenceMedianNinetyFive: Int?
    var referenceRounds: Int?
    /// The same runs with 8-bit quantised updates.
    var quantizedRuns: [SeedRun] = []

    init(rounds: Int, localEpochs: Int, runs: [SeedRun], reference: ReferenceSection?) {
        self.rounds = rounds
        self.localEpochs = localEpochs
        self.runs = runs
        medianNinety = medianRound(runs.map(\.ninetyRound), horizon: rounds)
        medianNinetyFive = medianRound(runs.map(\.ninetyFiveRound), horizon: rounds)
        let finals = runs.map(\.finalAccuracy).sorted()
        medianFinal = finals.isEmpty ? 0 : finals[finals.count / 2]
        let worstFinal = finals.first ?? 0
        goals = [
            Goal(
                name: "90% within 10 rounds (median)",
                measured: roundText(medianNinety, horizon: rounds),
                pass: (medianNinety ?? .max) <= 10
            ),
            Goal(
                name: "95% within 30 rounds (median)",
                measured: roundText(medianNinetyFive, horizon: rounds),
                pass: (medianNinetyFive ?? .max) <= 30
            ),
            Goal(
                name: "final ≥ 96.5% centralised (every seed)",
                measured: "lowest \(percent(worstFinal))",
                pass: worstFinal >= ReferenceFigures.centralisedAccuracy && !runs.contains { $0.failure != nil }
            ),
        ]
        if let reference {
            referenceRounds = reference.rounds
            referenceMedianNinety = medianRound(reference.runs.map(\.ninetyRound), horizon: reference.rounds)
            referenceMedianNinetyFive = medianRound(reference.runs.map(\.ninetyFiveRound), horizon: reference.rounds)
        }
    }

    var text: String {
        var lines = [
            "2. TinyFleet defaults (TrainingDefaults()): \(localEpochs) local epochs, SGD lr 0.1, batch 16, "
                + "FedAdam server step (η 0.05), \(rounds) rounds",
            "",
        ]
        func epochs(_ round: Int?) -> String { round.map { "\($0 * localEpochs)" } ?? "-" }
        var rows: [[String]] = runs.map { run in
            [
                "\(run.seed)", roundText(run.ninetyRound, horizon: rounds),
                roundText(run.ninetyFiveRound, horizon: rounds),
                epochs(run.ninetyRound), epochs(run.ninetyFiveRound), percent(run.finalAccuracy),
                percent(run.bestAccuracy),
            ]
        }
        rows.append([
            "median", roundText(medianNinety, horizon: rounds), roundText(medianNinetyFive, horizon: rounds),
            epochs(medianNinety), epochs(medianNinetyFive), percent(medianFinal), "",
        ])
        lines.append(
            renderTable(
                ["seed", "90% at", "95% at", "epochs to 90%", "epochs to 95%", "final", "best"],
                rows
            )
        )
        lines.append("(epochs to X%: local epochs each participating device ran, rounds × \(localEpochs))")
        if !quantizedRuns.isEmpty {
            lines.append("")
            lines.append("With 8-bit quantised updates (lossy uploads, about 25 % of raw fp32):")
            lines.append(
                renderTable(
                    ["seed", "90% at", "95% at", "final", "final, lossless", "cost (pts)"],
                    zip(quantizedRuns, runs).map { lossy, lossless in
                        [
                            "\(lossy.seed)", roundText(lossy.ninetyRound, horizon: rounds),
                            roundText(lossy.ninetyFiveRound, horizon: rounds), percent(lossy.finalAccuracy),
                            percent(lossless.finalAccuracy),
                            String(format: "%.2f", (lossless.finalAccuracy - lossy.finalAccuracy) * 100),
                        ]
                    }
                )
            )
        }
        lines.append("")
        lines.append(
            renderTable(
                ["goal", "measured", "result"],
                goals.map { [$0.name, $0.measured, verdict($0.pass)] } + [
                    [
                        "centralised training (measured earlier)",
                        percent(ReferenceFigures.centralisedAccuracy), "",
                    ]
                ]
            )
        )
        lines.append("")
        if let referenceRounds {
            let before = (
                roundText(referenceMedianNinety, horizon: referenceRounds),
                roundText(referenceMedianNinetyFive, horizon: referenceRounds)
            )
            let after = (roundText(medianNinety, horizon: rounds), roundText(medianNinetyFive, horizon: rounds))
            lines.append(
                "vs the reference settings in this run (median round): 90% \(before.0) → \(after.0), "
                    + "95% \(before.1) → \(after.1) (the reference settings run 1 local epoch per round)"
            )
        }
        let five = ReferenceFigures.numpyFiveEpochs
        let ten = ReferenceFigures.numpyTenEpochs
        func list(_ rounds: [Int?]) -> String {
            rounds.map { roundText($0, horizon: ReferenceFigures.horizon) }.joined(separator: "/")
        }
        lines.append(
            "numpy FedAvg, reference (measured earlier), seeds 0/1/2: 5 local epochs 90% at \(list(five.ninety)), "
                + "95% at \(list(five.ninetyFive)); 10 local epochs 90% at \(list(ten.ninety)), "
                + "95% at \(list(ten.ninetyFive))"
        )
        for run in runs where run.failure != nil {
            lines.append("seed \(run.seed) stopped: \(run.failure ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

struct PoisonedSetProfile: Codable {
    struct Client: Codable {
        var client: Int
        var rows: Int
        var topClasses: [Int]
        var topTwoShare: Double
    }

    var label: String
    var clients: [Client]

    var poisonedRows: Int { clients.reduce(0) { $0 + $1.rows } }
}

struct RobustnessRow: Codable {
    var poisonedClients: String
    var strategy: String
    var robust: Bool
    var cleanAccuracy: Double
    var poisonedAccuracy: Double
    /// Clean minus poisoned, in percentage points (mean over the seeds).
    var gapPoints: Double
    /// The same gap for each seed, in the seeds' order.
    var seedGapPoints: [Double]
    /// Robust strategies only: the mean gap is at most 2 points.
    var pass: Bool?
    /// What a row without a goal shows.
    var note: String
    var failures: [String]

    init(
        poisonedClients: String,
        strategy: String,
        robust: Bool,
        note: String = "baseline (no goal)",
        clean: [RunOutcome],
        poisoned: [RunOutcome]
    ) {
        self.note = note
        self.poisonedClients = poisonedClients
        self.strategy = strategy
        self.robust = robust
        func mean(_ runs: [RunOutcome]) -> Double {
            runs.isEmpty ? 0 : runs.reduce(0) { $0 + $1.meanAccuracy(lastRounds: 10) } / Double(runs.count)
        }
        cleanAccuracy = mean(clean)
        poisonedAccuracy = mean(poisoned)
        gapPoints = (cleanAccuracy - poisonedAccuracy) * 100
        seedGapPoints = zip(clean, poisoned).map {
            ($0.meanAccuracy(lastRounds: 10) - $1.meanAccuracy(lastRounds: 10)) * 100
        }
        failures = (clean + poisoned).compactMap(\.failure)
        pass = robust ? gapPoints <= 2 && failures.isEmpty : nil
    }
}

struct RobustnessSection: Codable {
    var rounds: Int
    var seeds: [UInt64]
    var sets: [PoisonedSetProfile]
    var rows: [RobustnessRow]

    var text: String {
        let seedList = seeds.map(String.init).joined(separator: ",")
        var lines = [
            "3. Robustness: 4 of 20 clients send sign-flipped ×10 updates (delta ← −10·delta); "
                + "TinyFleet defaults' local training, plain server step; \(rounds) rounds, seeds \(seedList); "
                + "accuracy = mean of the last 10 rounds, averaged over the seeds",
            "",
        ]
        for set in sets {
            let detail = set.clients.map { client in
                let classes = client.topClasses.map(String.init).joined(separator: "+")
                return "\(client.client): \(client.rows) rows, classes \(classes) \(percent(client.topTwoShare))"
            }
            lines.append(
                "poisoned set \(set.label) (\(set.poisonedRows) training rows): \(detail.joined(separator: "; "))"
            )
        }
        lines.append("")
        let rows = rows.map { row in
            [
                row.poisonedClients, row.strategy, percent(row.cleanAccuracy), percent(row.poisonedAccuracy),
                points(row.gapPoints), row.seedGapPoints.map(points).joined(separator: " / "),
                row.pass.map(verdict) ?? row.note,
            ]
        }
        lines.append(
            renderTable(
                ["poisoned", "strategy", "clean", "poisoned", "gap (pts)", "gap per seed", "robust: gap ≤ 2 pts"],
                rows,
                leftColumns: 2
            )
        )
        for row in self.rows where !row.failures.isEmpty {
            lines.append("\(row.strategy), poisoned \(row.poisonedClients): \(row.failures.joined(separator: "; "))")
        }
        return lines.joined(separator: "\n")
    }
}

struct UploadRow: Codable {
    var round: Int
    var encoding: String
    var bytes: [Int]

    var mean: Double { bytes.isEmpty ? 0 : Double(bytes.reduce(0, +)) / Double(bytes.count) }
}

struct UploadSection: Codable {
    var parameters: Int
    var rawBytes: Int
    var fileBytes: Int
    var rows: [UploadRow]

    var text: String {
        var lines = [
            "4. Upload per update: TinyFleet defaults' local training of each of the 20 clients from the round's "
                + "global model (seed 0); \(parameters.formatted()) parameters = \(rawBytes.formatted()) bytes raw "
                + "fp32 (safetensors file \(fileBytes.formatted()) bytes)",
            "",
        ]
        var table: [[String]] = [["-", "raw fp32", rawBytes.formatted(), "", "100.0%"]]
        for row in rows {
            let low = row.bytes.min() ?? 0
            let high = row.bytes.max() ?? 0
            table.append([
                "\(row.round)", row.encoding, Int(row.mean.rounded()).formatted(),
                "\(low.formatted())–\(high.formatted())",
                String(format: "%.1f%%", 100 * row.mean / Double(max(rawBytes, 1))),
            ])
        }
        lines.append(
            renderTable(["round", "encoding", "mean bytes", "min–max", "% of raw fp32"], table, leftColumns: 2)
        )
        lines.append(
            "(lossless: DeltaCodec.encode(old: base file, new: trained file), which is what "
                + "UpdateCodec.encodeLossless sends; files written as ModelFile.write does)"
        )
        return lines.joined(separator: "\n")
    }
}

struct FederatedReport: Codable {
    var data: String
    var seeds: [UInt64]
    var reference: ReferenceSection?
    var defaults: DefaultsSection?
    var robustness: RobustnessSection?
    var upload: UploadSection?
    var seconds: Double = 0

    var text: String {
        var parts = ["TinyFleet federated benchmark: \(data)"]
        if let reference { parts.append(reference.text) }
        if let defaults { parts.append(defaults.text) }
        if let robustness { parts.append(robustness.text) }
        if let upload { parts.append(upload.text) }
        parts.append(String(format: "total %.1f s", seconds))
        return parts.joined(separator: "\n\n")
    }
}
