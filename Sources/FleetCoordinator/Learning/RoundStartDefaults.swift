/// What `fleetctl round start` asks for when an option is not given (and `POST /api/v1/rounds` when a field is
/// absent): one set of defaults for both.
package enum RoundStartDefaults {
    package static let variant = "fp32"
    package static let clients = 10
    package static let deadlineSeconds = 60
    package static let localEpochs = 10
    package static let learningRate = 0.1
    package static let batchSize = 16
    package static let strategy = "fedavg+adam=0.05"
    package static let rounds = 1

    /// 80 % of `clients`, at least 1.
    package static func minimumClients(for clients: Int) -> Int { max(1, (clients * 4 + 4) / 5) }
}
