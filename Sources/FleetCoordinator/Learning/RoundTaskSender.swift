import FleetStore
import FleetWire
import Foundation

/// Sends a round's training tasks: each chosen device is recorded as selected, then gets its task.
struct RoundTaskSender {
    let store: CoordinatorStore
    let connections: ConnectionRegistry

    /// Records each chosen device as selected and sends it its task (from its region's variant when it runs
    /// one). Returns the task frame's size.
    func send(
        _ round: RoundCollection,
        bases: RoundBases,
        request: StartRound,
        deadline: ContinuousClock.Instant
    ) async throws -> Int {
        let task = TrainTask(
            requestID: RoundRunner.requestIDBase | UInt64(round.id),
            round: round.id,
            model: request.model,
            baseVersion: bases.version,
            variant: request.variant,
            baseSHA256: bases.record.sha256,
            parameters: request.parameters,
            deadlineMilliseconds: max(0, (deadline - ContinuousClock.now).milliseconds),
            personalPrefix: request.personalPrefix
        )
        let taskBytes = Message.trainTask(task).encodedFrame().readableBytes
        for deviceID in round.selected.sorted() {
            var deviceTask = task
            if let regional = round.deviceBases[deviceID] {
                deviceTask.variant = regional.record.variant
                deviceTask.baseSHA256 = regional.record.sha256
            }
            try await store.setParticipant(
                RoundParticipantRecord(
                    round: round.id,
                    deviceID: deviceID,
                    status: .selected,
                    bytesDown: taskBytes,
                    updatedAt: Date()
                )
            )
            connections.send(.trainTask(deviceTask), to: deviceID)
        }
        return taskBytes
    }
}
