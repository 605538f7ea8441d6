import FleetClient
import FleetCoordinator
import FleetStore
import FleetWire
import Foundation

/// A round as `fleetctl rounds MODEL --json` prints it. Field names are a contract with users' scripts.
public struct RoundView: Codable, Sendable, Equatable {
    public var round: Int
    public var model: String
    public var variant: String
    public var status: String
    public var baseVersion: Int
    public var publishedVersion: Int?
    public var strategy: String
    /// Devices whose update was aggregated.
    public var participants: Int
    /// Devices that were sent the task.
    public var selected: Int
    public var testAccuracy: Double?
    public var bytesUp: Int
    public var bytesDown: Int
    public var startedAt: String
    public var endedAt: String?
    public var detail: String
}

public struct ParticipantView: Codable, Sendable, Equatable {
    public var device: String
    public var status: String
    public var sampleCount: Int
    public var bytesUp: Int
    public var bytesDown: Int
    public var metrics: [String: String]
    /// Why the coordinator refused the update (status `refused`) or the device declined; empty otherwise.
    public var reason: String
}

public struct RoundDetailView: Codable, Sendable, Equatable {
    public var round: RoundView
    public var settings: [String: String]
    public var participants: [ParticipantView]
}

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
        let store = try requireLocalStore("rounds")
        var views: [RoundView] = []
        for record in try await store.rounds(model: model) {
            views.append(Self.view(record, participants: try await store.participants(round: record.id)))
        }
        return views
    }

    public func round(id: Int) async throws -> RoundDetailView {
        let store = try requireLocalStore("round show")
        guard let record = try await store.round(id: id) else {
            throw ControlError("no round \(id): `fleetctl rounds MODEL` lists them")
        }
        let participants = try await store.participants(round: id)
        return RoundDetailView(
            round: Self.view(record, participants: participants),
            settings: record.settings,
            participants: participants.map {
                ParticipantView(
                    device: $0.deviceID,
                    status: $0.status.rawValue,
                    sampleCount: $0.sampleCount,
                    bytesUp: $0.bytesUp,
                    bytesDown: $0.bytesDown,
                    metrics: $0.metrics,
                    reason: $0.reason
                )
            }
        )
    }

    static func view(_ record: RoundRecord, participants: [RoundParticipantRecord]) -> RoundView {
        RoundView(
            round: record.id,
            model: record.model,
            variant: record.variant,
            status: record.status.rawValue,
            baseVersion: record.baseVersion,
            publishedVersion: record.publishedVersion,
            strategy: record.strategy,
            participants: participants.filter { $0.status == .updated }.count,
            selected: participants.count,
            testAccuracy: record.testAccuracy,
            bytesUp: record.bytesUp,
            bytesDown: record.bytesDown,
            startedAt: ISO8601.string(record.startedAt),
            endedAt: record.endedAt.map(ISO8601.string),
            detail: record.detail
        )
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
