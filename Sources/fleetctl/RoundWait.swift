import FleetControl
import FleetCoordinator
import Foundation

/// `fleetctl round start --wait`: prints each round of the job as it ends, and always ends itself: when every
/// round has ended (exit 1 if any failed, naming why), or when no round has ended for `stallLimit` (the
/// coordinator stopped and did not come back: exit 1, saying so).
struct RoundWait {
    let inspector: FleetInspector
    let model: String
    let rounds: ClosedRange<Int>
    let stallLimit: Duration
    let json: Bool

    func run() async throws {
        var printed = Set<Int>()
        var lastProgress = ContinuousClock.now
        while true {
            let all = try await inspector.rounds(model: model).filter { rounds.contains($0.round) }
            for round in all where round.status != "running" && !printed.contains(round.round) {
                printed.insert(round.round)
                lastProgress = ContinuousClock.now
                if !json { print(Self.line(round)) }
            }
            if printed.count == rounds.count {
                if json { print(try Output.json(all)) }
                let failed = all.filter { $0.status == "failed" }
                guard failed.isEmpty else {
                    throw ControlError(
                        "\(failed.count) of \(rounds.count) round(s) failed: "
                            + failed.map { "round \($0.round): \($0.detail)" }.joined(separator: "; ")
                    )
                }
                return
            }
            if ContinuousClock.now - lastProgress > stallLimit {
                if json { print(try Output.json(all)) }
                let pending = rounds.filter { !printed.contains($0) }.map(String.init).joined(separator: ", ")
                throw ControlError(
                    "round(s) \(pending) did not end within \(stallLimit) of the last one: is the coordinator "
                        + "running? `fleetctl rounds \(model)` shows them once it is back"
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    static func line(_ round: RoundView) -> String {
        "round \(round.round): \(round.status)"
            + (round.testAccuracy.map { String(format: ", test accuracy %.4f", $0) } ?? "")
            + ", \(round.participants) update(s), \(round.bytesUp) B up, \(round.bytesDown) B down"
            + (round.status == "failed" ? " — \(round.detail)" : "")
    }
}
