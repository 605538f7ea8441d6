import FleetWire
import Hummingbird
import Testing

@testable import FleetCoordinator

/// The console's round form asks for what `fleetctl round start` asks for: each field reaches the round's
/// `StartRound`, a blank field takes the same default as `fleetctl` and the API, and a field that is not a number
/// is refused with its name.
@Suite struct ConsoleRoundFormTests {
    @Test func everyFieldReachesTheRound() throws {
        let form = [
            "model": "digits-mlp", "clients": "4", "min_clients": "3", "rounds": "5", "local_epochs": "2",
            "lr": "0.01", "batch_size": "32", "strategy": "fedavg", "deadline": "90", "csrf": "ignored",
        ]
        let start = try ConsoleRoundForm.request(from: form).message()
        #expect(start.model == "digits-mlp")
        #expect(start.clients == 4 && start.minimumClients == 3 && start.rounds == 5)
        #expect(start.parameters.localEpochs == 2 && start.parameters.learningRate == 0.01)
        #expect(start.parameters.batchSize == 32 && start.strategy == "fedavg")
        #expect(start.deadlineMilliseconds == 90_000)
    }

    @Test func blankFieldsTakeFleetctlsDefaults() throws {
        let blank = ["model": "digits-mlp", "clients": "", "lr": " ", "strategy": ""]
        let start = try ConsoleRoundForm.request(from: blank).message()
        #expect(start.clients == RoundStartDefaults.clients)
        #expect(start.minimumClients == RoundStartDefaults.minimumClients(for: RoundStartDefaults.clients))
        #expect(start.rounds == RoundStartDefaults.rounds)
        #expect(start.parameters.localEpochs == RoundStartDefaults.localEpochs)
        #expect(start.parameters.learningRate == RoundStartDefaults.learningRate)
        #expect(start.parameters.batchSize == RoundStartDefaults.batchSize)
        #expect(start.strategy == RoundStartDefaults.strategy)
        #expect(start.deadlineMilliseconds == RoundStartDefaults.deadlineSeconds * 1000)
    }

    @Test func aFieldThatIsNotANumberIsRefusedByName() {
        #expect { try ConsoleRoundForm.request(from: ["model": "m", "local_epochs": "two"]) } throws: { error in
            let error = error as? HTTPError
            return error?.status == .badRequest && error?.body?.contains("local epochs is a whole number") == true
        }
        #expect { try ConsoleRoundForm.request(from: ["model": "m", "lr": "fast"]) } throws: { error in
            (error as? HTTPError)?.body?.contains("learning rate is a number") == true
        }
        #expect { try ConsoleRoundForm.request(from: ["clients": "2"]) } throws: { error in
            (error as? HTTPError)?.body?.contains("no model") == true
        }
    }

    @Test func theFormShowsEachFieldWithItsDefault() {
        var body = HTML()
        ConsoleRoundForm.inputs(into: &body)
        let html = body.markup
        for field in ConsoleRoundForm.fields {
            #expect(html.contains("name=\"\(field.name)\""), "\(field.name)")
        }
        #expect(html.contains("placeholder=\"\(RoundStartDefaults.strategy)\""))
    }
}
