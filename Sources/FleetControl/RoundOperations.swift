import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

extension FleetInspector {
    public func startRounds(_ request: StartRound) async throws -> RoundStarted {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(.startRound(request))
            guard case .roundStarted(let started) = reply else { throw FleetClientError.unexpected(reply) }
            return started
        }
    }

    public func initModel(_ request: InitModel) async throws -> ModelPushed {
        try await target.withAdminConnection { connection in
            let reply = try await connection.request(.initModel(request))
            guard case .modelPushed(let pushed) = reply else { throw FleetClientError.unexpected(reply) }
            return pushed
        }
    }

    public func rounds(model: String?) async throws -> [RoundView] {
        try await RoundView.all(in: try await requireLocalStore("rounds"), model: model)
    }

    public func round(id: Int) async throws -> RoundDetailView {
        guard let detail = try await RoundDetailView.load(id: id, in: try await requireLocalStore("round show")) else {
            throw ControlError("no round \(id): `fleetctl rounds MODEL` lists them")
        }
        return detail
    }
}

extension Output {
    public static func roundsTable(_ rounds: [RoundView]) -> String {
        Table(
            headers: [
                "ROUND", "STATUS", "BASE", "PUBLISHED", "UPDATES", "TEST ACC", "BYTES UP", "BYTES DOWN", "STRATEGY",
            ],
            rows: rounds.map {
                [
                    String($0.round), $0.status, "v\($0.baseVersion)", $0.publishedVersion.map { "v\($0)" } ?? "-",
                    "\($0.participants)/\($0.selected)", $0.testAccuracy.map { String(format: "%.4f", $0) } ?? "-",
                    String($0.bytesUp), String($0.bytesDown), $0.strategy,
                ]
            }
        ).render()
    }
}
