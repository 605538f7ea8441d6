import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Testing

@testable import FleetAgent

/// The device's health counts (SPEC 5.41): what one window holds, a closed summary kept until acknowledged, and
/// the `feedback` op refused without `feedback` consent.
@Suite struct HealthRecorderTests {
    @Test func countsCloseIntoOneSummaryKeptUntilSent() async throws {
        let store = try AgentStore.inMemory()
        let recorder = HealthRecorder(store: store)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(try await recorder.due(now: start) == nil, "nothing counted, nothing to send")
        try await recorder.countStart(now: start)
        try await recorder.countInference(
            model: "m",
            version: 2,
            rows: 3,
            failed: false,
            milliseconds: 4,
            confidences: [0.95, 1, 0.31],
            now: start
        )
        try await recorder.countInference(
            model: "m",
            version: 2,
            rows: 2,
            failed: true,
            milliseconds: 2000,
            confidences: [],
            now: start
        )
        try await recorder.countFeedback(model: "m", version: 2, labelled: 3, correct: 2, now: start)
        try await recorder.countFeedback(model: "m", version: 1, labelled: 1, correct: 1, now: start)

        let summary = try #require(try await recorder.due(now: start.addingTimeInterval(5)))
        #expect(summary.windowMilliseconds == 5000 && summary.starts == 1)
        #expect(
            summary.entries == [
                HealthEntry(
                    model: "m",
                    version: 2,
                    queries: 5,
                    errors: 2,
                    latency: [0, 1, 0, 0, 1],
                    confidence: [0, 0, 0, 1, 0, 0, 0, 0, 0, 2],
                    labelled: 3,
                    correct: 2
                ),
                HealthEntry(model: "m", version: 1, labelled: 1, correct: 1),
            ]
        )
        // Counted meanwhile: a new window; the unacknowledged summary is offered again, unchanged.
        try await recorder.countFeedback(model: "m", version: 2, labelled: 1, correct: 1, now: start)
        #expect(try await recorder.due(now: start.addingTimeInterval(10)) == summary)
        try await recorder.sent()
        let next = try #require(try await recorder.due(now: start.addingTimeInterval(10)))
        #expect(next.starts == 0 && next.entries == [HealthEntry(model: "m", version: 2, labelled: 1, correct: 1)])
        try await recorder.sent()
        #expect(try await recorder.due(now: start.addingTimeInterval(20)) == nil)
    }

    @Test func feedbackNeedsItsConsent() async throws {
        let store = try AgentStore.inMemory()
        let book = AgentConsentBook(store: store, identity: .generate())
        let directory = NSTemporaryDirectory() + "tinyfleet-feedback-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let local = LocalObservability(store: store, consent: book, models: InstalledModels(dataDirectory: directory))
        let request = LocalRequest(op: "feedback", predictions: [1, 2], labels: [1, 3])
        let refused = await local.respond(to: request)
        #expect(refused.ok == false && refused.error == "no-consent")
        #expect(refused.message?.contains("fleet-agent consent grant feedback") == true, "\(refused.message ?? "")")
        #expect(try await HealthRecorder(store: store).due() == nil, "nothing was counted")
        try await book.change(.feedback, action: .grant)
        // Granted: the request goes on to the model (none is installed here).
        let answered = await local.respond(to: request)
        #expect(answered.error == "no-model", "\(answered)")
    }

    @Test func theSocketCountsInferencesErrorsAndFeedbackOfTheInstalledVersion() async throws {
        let storage = ProtectedStorageTests()
        let directory = try storage.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try storage.install(.plain, keyring: ModelKeyring(offlineLease: .seconds(3600)), in: directory)
        let store = try AgentStore.inMemory()
        let book = AgentConsentBook(store: store, identity: .generate())
        try await book.change(.feedback, action: .grant)
        let local = LocalObservability(store: store, consent: book, models: InstalledModels(dataDirectory: directory))
        let rows = [[Float]](repeating: [Float](repeating: 0.5, count: 64), count: 4)
        let inferred = await local.respond(to: LocalRequest(op: "infer", rows: rows))
        let predictions = try #require(inferred.predictions)
        // Rows of the wrong width: the whole request is an error.
        let refused = await local.respond(to: LocalRequest(op: "infer", rows: [[1, 2, 3], [4, 5, 6]]))
        #expect(refused.error == "bad-request")
        // Feedback on the 4 rows: the first label is the prediction, the second is not, the others unknown.
        let wrong = (predictions[1] + 1) % 10
        let feedback = await local.respond(
            to: LocalRequest(op: "feedback", rows: rows, labels: [predictions[0], wrong, nil, nil])
        )
        #expect(feedback.ok && feedback.count == 2 && feedback.correct == 1, "\(feedback)")
        let summary = try #require(try await HealthRecorder(store: store).due())
        let entry = try #require(summary.entries.first)
        #expect(summary.entries.count == 1 && entry.model == "digits" && entry.version == 1)
        #expect(entry.queries == 6 && entry.errors == 2, "4 answered rows and 2 refused ones")
        #expect(entry.latency.reduce(0, +) == 2, "two inference requests")
        #expect(entry.confidence.reduce(0, +) == 4, "a confidence per answered row")
        #expect(entry.labelled == 2 && entry.correct == 1)
    }
}
