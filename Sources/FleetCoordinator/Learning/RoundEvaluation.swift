import FleetLearning
import FleetModelIO
import FleetStore
import Foundation

/// The held-out rows (`--eval-data`) a model's rounds are evaluated on, checked against the model when they
/// are given: a file that does not parse, has no rows, or does not fit the model's input and output widths is
/// refused at `round start`, never discovered after a round. A round whose model scores at chance, or loses
/// more than half of its base's gain over chance, is held back (not published) with the reason.
struct RoundEvaluation {
    let data: Dataset
    /// The accuracy of always answering the most frequent label (at least 1 / the model's classes).
    let chance: Double

    /// Accuracy this close to chance counts as chance; no round is held back for losing less than this.
    static let tolerance = 0.05

    /// Parses `csv` with the model's input scaling and checks it fits the model. Throws `RoundError`.
    ///
    /// Untyped `throws` on purpose: with `throws(RoundError)`, Swift 6.3.1's release build crashed (signal 11 in
    /// LLVM's coroutine splitting of `RoundRunner.conduct`, into which this initializer is inlined).
    init(csv: [UInt8], model loaded: ModelFile.Loaded) throws {
        let network: MLP
        do {
            network = try MLP(parameters: loaded.tensors)
        } catch {
            throw RoundError("the model is not an MLP the coordinator can evaluate: \(error)")
        }
        let data: Dataset
        do {
            data = try CSVDatasetReader(scaling: loaded.inputScaling, classCount: network.outputCount).parse(
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
        let counts = Dictionary(grouping: data.labels, by: { $0 }).values.map(\.count)
        chance = max(1 / Double(network.outputCount), Double(counts.max() ?? 0) / Double(data.count))
    }

    /// Why a round scoring `accuracy` must not replace a base scoring `baseAccuracy` (`base` names it), or nil
    /// when it may be published. A round no worse than its base (within `tolerance`) is always published, also
    /// when both are near chance, as the first rounds from a fresh model are. Otherwise it is held back when it
    /// scores at chance (within `tolerance` of it), or below the base by more than half of the base's gain over
    /// chance: a round that throws away half of what the model had learnt, as a poisoned FedAvg round does, while
    /// the ordinary dips of early non-IID rounds go through.
    func holdBackReason(accuracy: Double, baseAccuracy: Double, base: String) -> String? {
        let shown = { (value: Double) in String(format: "%.4f", value) }
        if accuracy >= baseAccuracy - Self.tolerance {
            return nil
        }
        if accuracy < chance + Self.tolerance {
            return "test accuracy \(shown(accuracy)) is at chance (\(shown(chance)) on the evaluation rows)"
        }
        if accuracy < baseAccuracy - max(Self.tolerance, (baseAccuracy - chance) / 2) {
            return "test accuracy \(shown(accuracy)) is below \(base)'s \(shown(baseAccuracy)) by more than half "
                + "its gain over chance"
        }
        return nil
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
