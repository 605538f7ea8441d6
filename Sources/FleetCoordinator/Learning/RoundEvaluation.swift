import FleetLearning
import FleetModelIO
import FleetStore
import Foundation

/// The held-out rows (`--eval-data`) a model's rounds are evaluated on, checked against the model when they
/// are given: a file that does not parse, has no rows, or does not fit the model's input and output widths is
/// refused at `round start`, never discovered after a round.
struct RoundEvaluation {
    let data: Dataset

    /// Parses `csv` with the model's input scaling and checks it fits the model.
    init(csv: [UInt8], model loaded: ModelFile.Loaded) throws(RoundError) {
        let network: MLP
        do {
            network = try MLP(parameters: loaded.tensors)
        } catch {
            throw RoundError("the model is not an MLP the coordinator can evaluate: \(error)")
        }
        let data: Dataset
        do {
            data = try CSVDatasetReader(featureScale: loaded.featureScale, classCount: network.outputCount).parse(
                Data(csv)
            )
        } catch {
            throw RoundError("--eval-data: \(error); give a CSV of feature columns, then `label`")
        }
        guard !data.isEmpty else { throw RoundError("--eval-data has a header but no rows") }
        guard data.featureCount == network.inputCount else {
            throw RoundError(
                "--eval-data has \(data.featureCount) feature columns before `label`; the model takes "
                    + "\(network.inputCount)"
            )
        }
        self.data = data
    }

    /// The stored evaluation set of `model`, if any, for the model in `loaded`.
    static func stored(
        model: String,
        store: CoordinatorStore,
        loaded: ModelFile.Loaded
    ) async throws
        -> RoundEvaluation?
    {
        guard let csv = try await store.evaluationSet(model: model) else { return nil }
        return try RoundEvaluation(csv: csv, model: loaded)
    }

    func accuracy(of tensors: TensorSet) throws -> Double {
        try MLP(parameters: tensors).accuracy(on: data)
    }
}
