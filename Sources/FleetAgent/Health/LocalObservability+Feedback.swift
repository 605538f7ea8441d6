import FleetStore
import FleetTrust
import Foundation

extension LocalObservability {
    /// The health counts of this device (``HealthRecorder``), shared with the daemon through the database.
    public var health: HealthRecorder { HealthRecorder(store: store) }

    static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }

    /// `feedback`: the true labels of earlier predictions, under `feedback` consent. The installed model predicts
    /// `rows` again (or the application gives its `predictions`), and the labelled rows and the right ones are
    /// counted for the version installed now (SPEC 5.41). A row whose label is null is not counted. Nothing is
    /// kept but the two counts.
    public func feedback(
        model name: String?,
        rows: [[Float]]?,
        predictions given: [Int]?,
        labels: [Int?]?,
        now: Date = Date()
    ) async throws -> (model: String, version: Int, labelled: Int, correct: Int) {
        guard try await consent.isGranted(.feedback, at: now) else {
            throw LocalRequestError(
                "no-consent",
                "feedback consent is not granted on this device: nothing was counted; the device owner grants it "
                    + "with `fleet-agent consent grant feedback`"
            )
        }
        let model = try await models.model(named: name)
        guard let labels, !labels.isEmpty, labels.count <= Self.maximumRows else {
            throw LocalRequestError.badRequest("feedback needs \"labels\": 1 to \(Self.maximumRows), one per row")
        }
        let predictions: [Int]
        switch (rows, given) {
        case (let rows?, nil):
            try Self.check(rows, width: model.mlp.inputCount)
            predictions = try model.predict(rows).map(\.label)
        case (nil, let given?):
            predictions = given
        default:
            throw LocalRequestError.badRequest("feedback needs either \"rows\" or \"predictions\", with \"labels\"")
        }
        guard predictions.count == labels.count else {
            throw LocalRequestError.badRequest("one label per row (or prediction)")
        }
        let classes = 0..<model.mlp.outputCount
        guard labels.allSatisfy({ $0.map(classes.contains) ?? true }), predictions.allSatisfy(classes.contains) else {
            throw LocalRequestError.badRequest("labels and predictions are classes 0..<\(model.mlp.outputCount)")
        }
        let pairs = zip(predictions, labels).compactMap { prediction, label in label.map { $0 == prediction } }
        let correct = pairs.count(where: { $0 })
        if !pairs.isEmpty {
            try await health.countFeedback(
                model: model.name,
                version: model.version,
                labelled: pairs.count,
                correct: correct,
                now: now
            )
        }
        return (model.name, model.version, pairs.count, correct)
    }
}
