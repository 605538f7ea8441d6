import FleetLearning
import FleetModelIO
import FleetWire
import Foundation

/// The coordinator's federated learning: training updates from devices, and `round start` / `model init`
/// from administrators.
struct LearningService: DeviceMessageHandler, AdminMessageHandler {
    let runner: RoundRunner
    let models: ModelRegistry

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        guard case .trainUpdate(let update) = message else { return nil }
        return await runner.receive(update, from: deviceID)
    }

    func handleAdmin(_ message: Message, frameBudget: Int) async -> Message? {
        do {
            switch message {
            case .startRound(let request):
                return .roundStarted(try await runner.start(request))
            case .initModel(let request):
                return .modelPushed(try await initialise(request))
            default:
                return nil
            }
        } catch var error as ErrorMessage {
            // Errors raised below the request (e.g. by publishing) carry no request id: answer this request.
            if error.requestID == 0 { error.requestID = message.requestID ?? 0 }
            return .error(error)
        } catch {
            return .error(ErrorMessage(requestID: message.requestID ?? 0, code: .badRequest, message: "\(error)"))
        }
    }

    /// Publishes version 1 of a model with a seeded random initialisation.
    private func initialise(_ request: InitModel) async throws -> ModelPushed {
        try ModelNames.validate(request.model, request.variant, requestID: request.requestID)
        guard request.architecture == "mlp" else {
            throw ErrorMessage(requestID: request.requestID, code: .badRequest, message: "architecture must be mlp")
        }
        guard request.layers.count >= 2, request.layers.allSatisfy({ $0 >= 1 }) else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "--layers needs at least input and output widths, e.g. 64,64,10"
            )
        }
        let model = try MLP.initialize(layers: request.layers, seed: request.seed)
        var metadata = request.metadata
        // Without a factor, the model scales each input row itself (raw and [0, 1] rows alike).
        if metadata["feature-scale"] == nil { metadata["feature-scale"] = InputScaling.autoName }
        metadata["architecture"] = "mlp-" + request.layers.map(String.init).joined(separator: "-")
        metadata["activation"] = "relu"
        metadata["variant"] = request.variant
        metadata["init-seed"] = String(request.seed)
        let bytes = try ModelFile.write(model.parameters, metadata: metadata)
        var pushed = try await models.publishGenerated(
            model: request.model,
            version: 1,
            variant: request.variant,
            bytes: bytes,
            requirements: [:],
            metadata: metadata
        )
        pushed.requestID = request.requestID
        return pushed
    }
}
