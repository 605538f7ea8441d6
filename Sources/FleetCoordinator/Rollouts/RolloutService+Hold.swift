import FleetStore
import Foundation

/// The hold (README "Staged rollouts"): a wave whose soak has ended while an enabled health gate still waits for
/// evidence (too few devices with enough queries, labels, drift observations or summaries on one side) does not pass
/// on no evidence. It stays the current wave with the decision `held`, and an event `rollout_wave_held` records the
/// hold once. The gates are re-judged every step: once every gate decides, the wave passes (or halts) by itself;
/// `fleetctl rollout promote ID` passes it at once (event `rollout_wave_promoted`) and the next wave starts, judged
/// in turn. A gate turned off has no reading and never holds; the last wave's gates have no control group
/// (verdict `no-control`) and do not hold it.
extension RolloutService {
    func hold(_ rollout: inout RolloutRecord, waiting: [GateReading], at now: Date, events: inout [NewEvent]) {
        let index = rollout.wave - 1
        let wave = rollout.waves[index]
        let names = waiting.map(\.gate).joined(separator: ", ")
        let summary =
            "wave \(wave.number) held: \(names) still wait for evidence; it passes once they decide, or "
            + "`fleetctl rollout promote \(rollout.id)` passes it"
        if wave.decision != "held" {
            let lacks = waiting.map { "\($0.gate): \($0.why)" }.joined(separator: "; ")
            events.append(event(rollout, "rollout_wave_held", "\(summary) (\(lacks))", at: now))
        }
        rollout.waves[index].decision = "held"
        rollout.waves[index].reason =
            "\(Self.outcomes(wave)), soaked \(rollout.soakMilliseconds) ms; held: \(names) wait for evidence"
        rollout.reason = summary
    }

    /// `rollout promote` on a held wave: the administrator passes it; the next wave starts (or the rollout completes
    /// after the last).
    func passHeldWave(_ rollout: inout RolloutRecord, at now: Date, events: inout [NewEvent]) {
        let index = rollout.wave - 1
        let wave = rollout.waves[index]
        rollout.waves[index].decision = "passed"
        rollout.waves[index].reason =
            "\(Self.outcomes(wave)), soaked \(rollout.soakMilliseconds) ms; passed by the administrator while held"
        rollout.reason = ""
        events.append(
            event(
                rollout,
                "rollout_wave_promoted",
                "wave \(wave.number) passed by the administrator while its gates waited for evidence",
                at: now
            )
        )
        startNextWave(
            &rollout,
            orCompleteWhy: "every wave passed (the last promoted while held)",
            at: now,
            events: &events
        )
    }
}

extension RolloutRecord {
    /// Running, with its current wave held by gates that wait for evidence.
    var isHeld: Bool {
        state == .running && wave >= 1 && wave <= waves.count && waves[wave - 1].decision == "held"
    }
}
