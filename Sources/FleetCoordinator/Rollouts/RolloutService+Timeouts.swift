import FleetStore
import Foundation

/// The per-device timeout (README "Staged rollouts", SPEC 12.5): a device of the current wave that has neither
/// installed the version nor failed `deviceTimeoutMilliseconds` after its wave started is marked `timed-out`, with an
/// event `rollout_device_timed_out`. It then counts as settled, and with the failures against
/// `maximumInstallFailurePercent`: a device that never reports after receiving the version cannot be told apart
/// from one the version broke (an agent that dies loading it), so it is not dropped from the wave. It keeps the
/// version assigned; an install or a failure it reports later replaces the mark.
extension RolloutService {
    func timeOutPendingDevices(_ rollout: inout RolloutRecord, now: Date) async throws {
        guard let timeout = rollout.deviceTimeoutMilliseconds, timeout > 0,
            rollout.wave >= 1, rollout.wave <= rollout.waves.count
        else { return }
        let index = rollout.wave - 1
        guard let started = rollout.waves[index].startedAt,
            now >= started.addingTimeInterval(Double(timeout) / 1000)
        else { return }
        let pending = rollout.waves[index].devices.filter { $0.outcome == .pending }.map(\.deviceID)
        guard !pending.isEmpty else { return }
        let detail =
            "rollout \(rollout.id) (\(rollout.model) v\(rollout.version)): wave \(rollout.wave): not installed within "
            + "\(Self.duration(milliseconds: timeout)) of the wave's start; counted as failed until it reports"
        let marked = Set(
            try await store.markRolloutDevicesTimedOut(rolloutID: rollout.id, deviceIDs: pending) { deviceID in
                NewEvent(at: now, deviceID: deviceID, kind: "rollout_device_timed_out", detail: detail)
            }
        )
        for device in rollout.waves[index].devices.indices
        where marked.contains(rollout.waves[index].devices[device].deviceID) {
            rollout.waves[index].devices[device].outcome = .timedOut
        }
        if !marked.isEmpty {
            logger.notice(
                "rollout_device_timed_out",
                metadata: ["rollout": "\(rollout.id)", "devices": "\(marked.sorted().joined(separator: ","))"]
            )
        }
    }

    /// `3600000` → "1h", `90000` → "90s", `1500` → "1500ms".
    static func duration(milliseconds: Int) -> String {
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
