import FleetStore
import Hummingbird

/// The read endpoints for federated rounds, drift, consent and samples: the views `fleetctl rounds`, `round show`,
/// `drift`, `consent` and `samples` print with `--json` (one implementation each), in pages.
extension AdminAPI {
    func registerLearningAndObservability(
        on api: RouterGroup<BasicRequestContext>,
        authorization: APIAuthorization
    ) {
        let store = self.store
        api.get("rounds") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "after", "model"])
            let rounds = try await RoundView.all(in: store, model: try query.cursor("model"))
            let page = try APIPage(
                rounds,
                key: { String($0.round) },
                query: query,
                path: "\(Self.base)/rounds",
                keeping: ["model"]
            )
            return try APIResponse.json(page.items, next: page.next)
        }
        api.get("rounds/{round}") { request, context -> Response in
            try await authorization.require(.read, for: request)
            _ = try APIQuery(request, allowed: [])
            let text = try context.parameters.require("round")
            guard let id = Int(text), id >= 0, let detail = try await RoundDetailView.load(id: id, in: store) else {
                throw HTTPError(.notFound, message: "no round \(text.prefix(32)): GET \(Self.base)/rounds lists them")
            }
            return try APIResponse.json(detail)
        }
        api.get("drift") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "after", "model", "version", "by"])
            guard let model = try query.cursor("model") else {
                throw HTTPError(.badRequest, message: "model is required: GET \(Self.base)/drift?model=NAME")
            }
            let by = try query.cursor("by")
            guard by == nil || by == "device" || by == "region" || by == "fleet" else {
                throw HTTPError(.badRequest, message: "by is device, region or fleet")
            }
            var version: Int?
            if let text = try query.cursor("version") {
                guard let number = Int(text), number >= 1 else {
                    throw HTTPError(.badRequest, message: "version must be a version number (1 or more)")
                }
                version = number
            }
            guard
                let views = try await DriftView.assess(
                    model: model,
                    version: version,
                    by: by == "device" ? nil : by,
                    in: store
                )
            else {
                throw HTTPError(
                    .notFound,
                    message: "no reference statistics for \(model): push it with `fleetctl model push "
                        + "--reference-data`"
                )
            }
            let page = try APIPage(
                views,
                key: { $0.device ?? $0.region ?? "fleet" },
                query: query,
                path: "\(Self.base)/drift",
                keeping: ["model", "version", "by"]
            )
            return try APIResponse.json(page.items, next: page.next)
        }
        api.get("consent") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "after", "device"])
            let devices = try await Self.devices(query, in: store)
            let page = try APIPage(
                try await ConsentView.all(of: devices, in: store),
                key: \.device,
                query: query,
                path: "\(Self.base)/consent",
                keeping: ["device"]
            )
            return try APIResponse.json(page.items, next: page.next)
        }
        api.get("samples") { request, _ -> Response in
            try await authorization.require(.read, for: request)
            let query = try APIQuery(request, allowed: ["limit", "after", "device"])
            let devices = try await Self.devices(query, in: store)
            let everyOne = query.parameters["device"] != nil
            let page = try APIPage(
                try await SampleHoldingView.all(of: devices, everyOne: everyOne, in: store),
                key: \.device,
                query: query,
                path: "\(Self.base)/samples",
                keeping: ["device"]
            )
            return try APIResponse.json(page.items, next: page.next)
        }
    }

    /// The devices a `device` query parameter (id or name) selects, every device without one; 404 when none.
    private static func devices(_ query: APIQuery, in store: CoordinatorStore) async throws -> [DeviceRecord] {
        let device = try query.cursor("device")
        let devices = try await DeviceRecord.matching(device, in: store)
        if let device, devices.isEmpty {
            throw HTTPError(.notFound, message: "no device \"\(device)\": GET \(Self.base)/devices lists them")
        }
        return devices
    }
}
