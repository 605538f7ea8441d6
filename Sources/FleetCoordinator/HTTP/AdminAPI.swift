import FleetStore
import FleetWire
import Foundation
import Hummingbird
import NIOCore

/// The HTTP admin API under `/api/v1/` (`Protocol/admin-api.yaml` describes it): JSON, every endpoint behind a
/// bearer token from `fleetctl api-token create`. Handlers read the coordinator's store (GRDB, off the event loop).
struct AdminAPI: Sendable {
    let store: CoordinatorStore
    /// The coordinator's dispatcher of admin requests: the write endpoints go through it as `fleetctl` does.
    let admin: AdminRequests
    static let base = "/api/v1"

    func register(on router: Router<BasicRequestContext>) {
        let authorization = APIAuthorization(store: store)
        let store = self.store
        let api = router.group(RouterPath(Self.base))
        api.get("devices") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "after"])
            let page = try APIPage(
                try await DeviceView.all(in: store),
                key: \.id,
                query: query,
                path: "\(Self.base)/devices"
            )
            return try APIResponse.json(page.items, next: page.next)
        }
        api.get("devices/{id}") { request, context -> Response in
            try await authorization.require(.read, for: request)
            let id = try context.parameters.require("id")
            guard let device = try await DeviceView.named(id, in: store) else {
                throw HTTPError(.notFound, message: "no device \"\(id)\": GET \(Self.base)/devices lists them")
            }
            return try APIResponse.json(device)
        }
        api.get("events") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "since"])
            let limit = try query.limit(default: 100, maximum: 1000)
            let since = try query.sequence("since")
            let events = try await store.events(after: since, limit: limit).map(EventView.init(record:))
            let next = events.last.map { "\(Self.base)/events?limit=\(limit)&since=\($0.sequence)" }
            return try APIResponse.json(events, next: events.count == limit ? next : nil)
        }
        api.get("models") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            _ = try APIQuery(request, allowed: [])
            return try APIResponse.json(try await ModelSummaryView.all(in: store))
        }
        api.get("transfers") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "since", "device", "model"])
            let limit = try query.limit(default: 100, maximum: 1000)
            let since = try query.sequence("since")
            let (device, model) = (try query.cursor("device"), try query.cursor("model"))
            let transfers = try await store.transfers(
                deviceID: device,
                model: model,
                afterSequence: since,
                limit: limit
            )
            var next: String?
            if transfers.count == limit, let last = transfers.last {
                next =
                    "\(Self.base)/transfers?limit=\(limit)&since=\(last.sequence)"
                    + (device.map { "&device=\(APIQuery.escaped($0))" } ?? "")
                    + (model.map { "&model=\(APIQuery.escaped($0))" } ?? "")
            }
            return try APIResponse.json(transfers, next: next)
        }
        api.post("api-tokens") { request, _ -> Response in
            try await authorization.require(.admin, for: request)
            _ = try APIQuery(request, allowed: [])
            return try await Self.createToken(request, store: store)
        }
        api.get("api-tokens") { request, _ -> Response in
            try await authorization.require(.admin, for: request)
            _ = try APIQuery(request, allowed: [])
            let now = Date()
            return try APIResponse.json(try await store.apiTokens().map { APITokenSummaryView(record: $0, now: now) })
        }
        registerLearningAndObservability(on: api, authorization: authorization)
        registerWrites(on: api, authorization: authorization)
    }

    /// The body of `POST /api/v1/api-tokens`.
    struct NewTokenRequest: Decodable {
        var scope: String
        var expiresInSeconds: Int?
    }

    /// The largest request body read (a token request is a few dozen bytes).
    static let maximumBodySize = 1024

    static func createToken(_ request: Request, store: CoordinatorStore) async throws -> Response {
        let wanted = try await decode(NewTokenRequest.self, from: request, upTo: maximumBodySize)
        let seconds = wanted.expiresInSeconds ?? 0
        guard let scope = APITokenScope(name: wanted.scope), (0...Int(Int32.max)).contains(seconds) else {
            throw HTTPError(
                .badRequest,
                message: "scope is read or admin; expiresInSeconds is 0 (never) to \(Int32.max)"
            )
        }
        let (record, token) = try await APITokens.issue(scope: scope, expiresInSeconds: seconds, in: store)
        var response = try APIResponse.json(
            APITokenView(
                token: token,
                id: record.id,
                scope: record.scope,
                expiresAt: record.expiresAt.map(ISO8601.string)
            )
        )
        response.status = .created
        return response
    }
}
