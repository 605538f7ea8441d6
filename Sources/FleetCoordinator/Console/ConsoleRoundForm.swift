import Foundation
import Hummingbird

/// The console's "Start a federated round" form (`POST /actions/round`): the fields of `fleetctl round start` that
/// decide how devices train, each shown with the default that a blank field takes (the defaults of
/// `fleetctl round start` and of `POST /api/v1/rounds`, ``RoundStartDefaults``). Without them every round started
/// here took those defaults, which do not suit every model (FedAdam at lr 0.1 diverged on a fine-tuned digits
/// model).
enum ConsoleRoundForm {
    /// A form field, its label and the default a blank field takes.
    struct Field {
        var name: String
        var label: String
        var placeholder: String
        var type: String
    }

    static let fields: [Field] = [
        Field(name: "clients", label: "clients", placeholder: String(RoundStartDefaults.clients), type: "number"),
        Field(name: "min_clients", label: "min clients", placeholder: "80 % of clients", type: "number"),
        Field(name: "rounds", label: "rounds", placeholder: String(RoundStartDefaults.rounds), type: "number"),
        Field(
            name: "local_epochs",
            label: "local epochs",
            placeholder: String(RoundStartDefaults.localEpochs),
            type: "number"
        ),
        Field(name: "lr", label: "learning rate", placeholder: String(RoundStartDefaults.learningRate), type: "text"),
        Field(
            name: "batch_size",
            label: "batch size",
            placeholder: String(RoundStartDefaults.batchSize),
            type: "number"
        ),
        Field(name: "strategy", label: "strategy", placeholder: RoundStartDefaults.strategy, type: "text"),
        Field(
            name: "deadline",
            label: "deadline (seconds)",
            placeholder: String(RoundStartDefaults.deadlineSeconds),
            type: "number"
        ),
    ]

    /// The form's inputs after the model's select (blank inputs show their default as a placeholder).
    static func inputs(into body: inout HTML) {
        for field in fields {
            body.raw(
                "<label>\(HTML.escape(field.label)) <input name=\"\(field.name)\" type=\"\(field.type)\" "
                    + "placeholder=\"\(HTML.escape(field.placeholder))\"></label> "
            )
        }
    }

    /// The round the form asks for: `model` required; every other field optional (blank: the default).
    static func request(from form: [String: String]) throws -> RoundRequest {
        guard let model = value("model", form) else {
            throw HTTPError(.badRequest, message: "the form has no model: use the forms of /actions")
        }
        var request = RoundRequest(model: model)
        request.clients = try number("clients", form)
        request.minimumClients = try number("min_clients", form)
        request.rounds = try number("rounds", form)
        request.localEpochs = try number("local_epochs", form)
        request.batchSize = try number("batch_size", form)
        request.deadlineSeconds = try number("deadline", form)
        request.strategy = value("strategy", form)
        if let text = value("lr", form) {
            guard let rate = Double(text) else {
                throw HTTPError(.badRequest, message: "learning rate is a number (e.g. 0.01), not \(text.prefix(32))")
            }
            request.learningRate = rate
        }
        return request
    }

    private static func value(_ name: String, _ form: [String: String]) -> String? {
        guard let value = form[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    private static func number(_ name: String, _ form: [String: String]) throws -> Int? {
        guard let text = value(name, form) else { return nil }
        guard let number = Int(text) else {
            let label = fields.first { $0.name == name }?.label ?? name
            throw HTTPError(.badRequest, message: "\(label) is a whole number, not \(text.prefix(32))")
        }
        return number
    }
}
