import FleetStore
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

extension RoundView {
    /// The rounds the store holds (of `model`, or all): what `fleetctl rounds --json` prints and
    /// `GET /api/v1/rounds` serves.
    package static func all(in store: CoordinatorStore, model: String?) async throws -> [RoundView] {
        var views: [RoundView] = []
        for record in try await store.rounds(model: model) {
            views.append(RoundView(record, participants: try await store.participants(round: record.id)))
        }
        return views
    }

    package init(_ record: RoundRecord, participants: [RoundParticipantRecord]) {
        self.init(
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

extension RoundDetailView {
    /// One round with its settings and participants (`fleetctl round show --json`, `GET /api/v1/rounds/{id}`);
    /// nil when the store holds no such round.
    package static func load(id: Int, in store: CoordinatorStore) async throws -> RoundDetailView? {
        guard let record = try await store.round(id: id) else { return nil }
        let participants = try await store.participants(round: id)
        return RoundDetailView(
            round: RoundView(record, participants: participants),
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
}
