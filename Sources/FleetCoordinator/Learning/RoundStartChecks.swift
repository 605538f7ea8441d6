import FleetStore
import FleetWire

/// The checks `round start` makes before it answers, in the order of SPEC.md section 15.2 (precedence): the
/// request's own fields (300), then what it names (301) and the evaluation rows, which must fit that model (300).
/// The coordinator's state (302: rounds running, devices that can train) is the runner's to check.
struct RoundStartChecks {
    let store: CoordinatorStore
    let models: ModelRegistry

    /// The request's strategy and the bases its rounds train from, or the error `round start` answers.
    func check(_ request: StartRound) async throws -> (StrategySpec, RoundBases) {
        guard request.clients >= 1, request.minimumClients >= 1, request.minimumClients <= request.clients,
            request.rounds >= 1
        else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "need clients ≥ min-clients ≥ 1 and rounds ≥ 1"
            )
        }
        let spec: StrategySpec
        do {
            spec = try StrategySpec(parsing: request.strategy)
        } catch {
            throw ErrorMessage(requestID: request.requestID, code: .badRequest, message: "\(error)")
        }
        if spec.regionalVariants && !request.hierarchical {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "+regional keeps each region's model: run the round with --hierarchical"
            )
        }
        let bases: RoundBases
        do {
            bases = try await RoundBases.load(
                model: request.model,
                variant: request.variant,
                store: store,
                models: models
            )
        } catch let error as RoundError {
            throw ErrorMessage(requestID: request.requestID, code: .notFound, message: error.description)
        }
        if !request.evaluationCSV.isEmpty {
            do {
                _ = try RoundEvaluation(csv: request.evaluationCSV, model: bases.loaded)
            } catch {
                throw ErrorMessage(requestID: request.requestID, code: .badRequest, message: "\(error)")
            }
        }
        return (spec, bases)
    }
}
