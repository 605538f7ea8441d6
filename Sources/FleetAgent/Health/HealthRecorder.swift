import FleetStore
import FleetWire
import Foundation

/// The device's health counts (SPEC 5.41), kept in the agent's database so that the daemon and the command
/// line's fallback add to the same window and a crash loses nothing: the open window, and at most one closed
/// summary waiting for the coordinator's acknowledgement.
public struct HealthRecorder: Sendable {
    static let key = "health"

    /// What is kept under ``key``.
    struct State: Codable, Sendable {
        var open: Window?
        var pending: HealthSummary?
    }

    /// The window being counted.
    struct Window: Codable, Sendable {
        var start: Date
        var starts = 0
        var entries: [HealthEntry] = []
    }

    public let store: AgentStore

    public init(store: AgentStore) {
        self.store = store
    }

    /// Adds to `model` v`version`'s counts in the open window. Beyond ``HealthSummary/maximumEntries`` versions in
    /// one window, further versions are not counted.
    public func count(
        model: String,
        version: Int,
        now: Date = Date(),
        _ change: @escaping @Sendable (inout HealthEntry) -> Void
    )
        async throws
    {
        try await updateOpen(now: now) { window in
            if let index = window.entries.firstIndex(where: { $0.model == model && $0.version == version }) {
                change(&window.entries[index])
            } else if window.entries.count < HealthSummary.maximumEntries {
                var entry = HealthEntry(model: model, version: version)
                change(&entry)
                window.entries.append(entry)
            }
        }
    }

    /// Counts one inference request: `rows` rows, all failed or all answered with `confidences`.
    public func countInference(
        model: String,
        version: Int,
        rows: Int,
        failed: Bool,
        milliseconds: Double,
        confidences: [Float],
        now: Date = Date()
    ) async throws {
        try await count(model: model, version: version, now: now) { entry in
            entry.queries = HealthEntry.sum(entry.queries, rows)
            if failed { entry.errors = HealthEntry.sum(entry.errors, rows) }
            let bucket = HealthEntry.latencyBucket(milliseconds: milliseconds)
            entry.latency[bucket] = HealthEntry.sum(entry.latency[bucket], 1)
            for confidence in confidences {
                let bin = HealthEntry.confidenceBin(Double(confidence))
                entry.confidence[bin] = HealthEntry.sum(entry.confidence[bin], 1)
            }
        }
    }

    /// Counts true labels reported for earlier predictions.
    public func countFeedback(
        model: String,
        version: Int,
        labelled: Int,
        correct: Int,
        now: Date = Date()
    )
        async throws
    {
        try await count(model: model, version: version, now: now) { entry in
            entry.labelled = HealthEntry.sum(entry.labelled, labelled)
            entry.correct = min(entry.labelled, HealthEntry.sum(entry.correct, correct))
        }
    }

    /// Counts one start of the agent (reported in the next summary).
    public func countStart(now: Date = Date()) async throws {
        try await updateOpen(now: now) { window in
            window.starts = min(HealthSummary.maximumStarts, window.starts + 1)
        }
    }

    /// The summary to send now: the one still waiting for an acknowledgement, else the open window closed at
    /// `now` (nil when nothing was counted).
    public func due(now: Date = Date()) async throws -> HealthSummary? {
        try await update { state in
            if let pending = state.pending { return pending }
            guard let window = state.open, window.starts > 0 || window.entries.contains(where: { !$0.isEmpty })
            else { return nil }
            let milliseconds = Int((now.timeIntervalSince(window.start) * 1000).rounded())
            state.pending = HealthSummary(
                requestID: 0,
                windowMilliseconds: min(HealthSummary.maximumWindowMilliseconds, max(0, milliseconds)),
                starts: window.starts,
                entries: window.entries.filter { !$0.isEmpty }
            )
            state.open = nil
            return state.pending
        }
    }

    /// The coordinator acknowledged (or refused for good) the summary ``due(now:)`` returned.
    public func sent() async throws {
        try await update { state in state.pending = nil }
    }

    private func updateOpen(now: Date, _ change: @escaping @Sendable (inout Window) -> Void) async throws {
        try await update { state in
            var window = state.open ?? Window(start: now)
            change(&window)
            state.open = window
        }
    }

    /// Reads, changes and writes the state in one transaction (a state that does not decode starts afresh).
    private func update<T: Sendable>(_ change: @escaping @Sendable (inout State) -> T) async throws -> T {
        try await store.updateValue(forKey: Self.key) { bytes in
            var state = bytes.flatMap { try? JSONDecoder().decode(State.self, from: Data($0)) } ?? State()
            let result = change(&state)
            return (Array(try JSONEncoder().encode(state)), result)
        }
    }
}
