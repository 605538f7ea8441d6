import FleetWire
import Hummingbird

/// The body of `PUT /api/v1/pins`, and its answer.
struct PinRequest: Decodable {
    var model: String
    var device: String?
    var version: Int
    var rollback: Bool?
}

struct PinView: Encodable {
    var model: String
    /// Nil for the fleet-wide pin.
    var device: String?
    var version: Int
    var rollback: Bool
}

/// What `fleetctl round start --json` prints and `POST /api/v1/rounds` answers.
struct RoundsStartedView: Encodable {
    var firstRound: Int
    var rounds: Int
}

/// The body of `POST /api/v1/rounds`: `fleetctl round start`'s options, with its defaults when absent.
struct RoundRequest: Decodable {
    var model: String
    var variant: String?
    var clients: Int?
    var minimumClients: Int?
    var deadlineSeconds: Int?
    var localEpochs: Int?
    var learningRate: Double?
    var batchSize: Int?
    var strategy: String?
    var rounds: Int?
    var seed: UInt64?
    var personalPrefix: String?
    var quantize: Bool?
    var hierarchical: Bool?
    /// Held-out rows (CSV: features, then `label`) to evaluate each published round.
    var evaluationCSV: String?

    /// The `round start` request `fleetctl` would send; bounds that the coordinator's checks assume are checked here.
    func message() throws -> StartRound {
        let clients = clients ?? RoundStartDefaults.clients
        let deadline = deadlineSeconds ?? RoundStartDefaults.deadlineSeconds
        let epochs = localEpochs ?? RoundStartDefaults.localEpochs
        let batch = batchSize ?? RoundStartDefaults.batchSize
        let rounds = rounds ?? RoundStartDefaults.rounds
        let rate = learningRate ?? RoundStartDefaults.learningRate
        guard (1...100_000).contains(clients), (1...86_400).contains(deadline), (1...1000).contains(epochs),
            (1...65_536).contains(batch), (1...1000).contains(rounds), rate.isFinite, rate > 0
        else {
            throw HTTPError(
                .badRequest,
                message: "clients 1…100000, deadlineSeconds 1…86400, localEpochs 1…1000, batchSize 1…65536, "
                    + "rounds 1…1000, learningRate > 0"
            )
        }
        if evaluationCSV?.isEmpty == true {
            throw HTTPError(.badRequest, message: "evaluationCSV is empty (no header): leave it out for none")
        }
        return StartRound(
            requestID: 1,
            model: model,
            variant: variant ?? RoundStartDefaults.variant,
            clients: clients,
            minimumClients: minimumClients ?? RoundStartDefaults.minimumClients(for: clients),
            deadlineMilliseconds: deadline * 1000,
            parameters: TrainingParameters(
                localEpochs: epochs,
                learningRate: rate,
                batchSize: batch,
                seed: seed ?? 0,
                quantize: quantize ?? false
            ),
            strategy: strategy ?? RoundStartDefaults.strategy,
            rounds: rounds,
            hierarchical: hierarchical ?? false,
            personalPrefix: personalPrefix ?? "",
            evaluationCSV: Array((evaluationCSV ?? "").utf8)
        )
    }
}
