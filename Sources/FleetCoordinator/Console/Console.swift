import FleetStore
import Hummingbird

/// The fleet console: server-rendered HTML pages on the operator's HTTP listener (no JavaScript; charts as SVG),
/// read-only. `/` the fleet, `/devices/{id or name}` a device, `/models/{name}` a model's
/// versions and delivery, `/drift` PSI by region and feature, `/rounds` federated rounds, `/events` the event
/// log. Like `/metrics`, the console needs no token on a loopback listener; off loopback it needs a read token
/// (``RequireReadToken``, registered before it by ``OperatorHTTP``).
struct Console: Sendable {
    let store: CoordinatorStore

    func register(on router: Router<BasicRequestContext>) {
        let store = self.store
        router.get("/") { request, _ -> Response in
            try await Self.serve {
                try await FleetPage.load(try APIQuery(request, allowed: ["limit", "after"]), in: store)
            }
        }
        router.get("devices/{device}") { request, context -> Response in
            try await Self.serve {
                _ = try APIQuery(request, allowed: [])
                return try await DevicePage.load(try context.parameters.require("device"), in: store)
            }
        }
        router.get("models/{model}") { request, context -> Response in
            try await Self.serve {
                _ = try APIQuery(request, allowed: [])
                return try await ModelPage.load(try context.parameters.require("model"), in: store)
            }
        }
        router.get("rounds") { request, _ -> Response in
            try await Self.serve { try await RoundsPage.load(try APIQuery(request, allowed: ["model"]), in: store) }
        }
        router.get("drift") { request, _ -> Response in
            try await Self.serve { try await DriftPage.load(try APIQuery(request, allowed: ["model"]), in: store) }
        }
        router.get("events") { request, _ -> Response in
            try await Self.serve {
                try await EventsPage.load(try APIQuery(request, allowed: ["device", "kind", "limit"]), in: store)
            }
        }
    }

    /// The page `load` builds, or for a request it refuses (400, 404) a page that says why and what to do.
    static func serve(_ load: () async throws -> ConsolePage) async throws -> Response {
        do {
            return try await load().response
        } catch let error as HTTPError {
            return ConsolePage.error(error).response
        }
    }
}
