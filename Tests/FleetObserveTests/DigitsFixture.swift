import Foundation

@testable import FleetObserve

/// The scikit-learn digits rows (8×8 pixels, 0...16) with their label, split and federated client.
struct DigitsRow {
    let pixels: [Float]
    let label: Int
    let split: String
    let client: Int?
}

enum Digits {
    static let rows: [DigitsRow] = load()

    static var train: [DigitsRow] { rows.filter { $0.split == "train" } }
    static var test: [DigitsRow] { rows.filter { $0.split == "test" } }
    static var clients: [Int: [DigitsRow]] {
        Dictionary(grouping: train.filter { $0.client != nil }) { $0.client ?? -1 }
    }

    private static func load() -> [DigitsRow] {
        guard let url = Bundle.module.url(forResource: "digits", withExtension: "csv", subdirectory: "Fixtures"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 67, let label = Int(fields[64]) else { return nil }
            return DigitsRow(
                pixels: fields[0..<64].compactMap { Float($0) },
                label: label,
                split: String(fields[65]),
                client: Int(fields[66])
            )
        }
    }
}

/// A nearest-centroid classifier fitted on the training rows: a stand-in model, so that predictions and
/// confidences react to input drift as a real model's would. Confidence = softmax over negative distances.
struct CentroidModel {
    let centroids: [[Float]]

    init(rows: [DigitsRow]) {
        var sums = [[Float]](repeating: [Float](repeating: 0, count: 64), count: 10)
        var counts = [Float](repeating: 0, count: 10)
        for row in rows {
            counts[row.label] += 1
            for index in 0..<64 { sums[row.label][index] += row.pixels[index] }
        }
        centroids = (0..<10).map { label in sums[label].map { $0 / max(counts[label], 1) } }
    }

    func predict(_ pixels: [Float]) -> (label: Int, confidence: Float) {
        let distances = centroids.map { centroid in
            zip(centroid, pixels).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        }
        let best = distances.min() ?? 0
        let weights = distances.map { exp(-($0 - best) / 4) }
        let label = distances.firstIndex(of: best) ?? 0
        return (label, 1 / weights.reduce(0, +))
    }
}

extension DriftAccumulator {
    /// Observes every row through `model` and returns the drained summary.
    static func summary(
        of rows: [[Float]],
        model: CentroidModel,
        reference: ReferenceStatistics
    ) throws -> DriftSummary {
        var accumulator = DriftAccumulator(reference: reference, windowStart: Date(timeIntervalSince1970: 0))
        for pixels in rows {
            let (label, confidence) = model.predict(pixels)
            try accumulator.observe(features: pixels, predictedClass: label, confidence: confidence)
        }
        return accumulator.drain(windowEnd: Date(timeIntervalSince1970: 3_600))
    }
}

/// The reference statistics of the training rows under the centroid model.
struct DigitsSetup {
    let model: CentroidModel
    let reference: ReferenceStatistics

    static func make() throws -> DigitsSetup {
        let train = Digits.train
        let model = CentroidModel(rows: train)
        let outputs = train.map { model.predict($0.pixels) }
        let reference = try ReferenceStatistics.compute(
            features: train.map(\.pixels),
            predictions: outputs.map(\.label),
            confidences: outputs.map(\.confidence),
            bins: 10,
            classCount: 10
        )
        return DigitsSetup(model: model, reference: reference)
    }

    func summary(_ rows: [[Float]]) throws -> DriftSummary {
        try DriftAccumulator.summary(of: rows, model: model, reference: reference)
    }
}
