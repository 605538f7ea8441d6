import FleetStore
import Hummingbird
import Logging
import NIOCore

/// The operator's HTTP listener (`fleet-coordinator --http-listen HOST:PORT`), served with Hummingbird 2:
/// `GET /metrics` in Prometheus' text format (0.0.4), the HTTP admin API under `/api/v1/` (``AdminAPI``, every
/// endpoint behind a bearer token) and the read-only console's HTML pages (``Console``). Loopback addresses only:
/// `/metrics` and the console are not authenticated.
struct OperatorHTTP: Sendable {
    let host: String
    let port: Int
    let metrics: CoordinatorMetrics
    let store: CoordinatorStore
    let connections: ConnectionRegistry
    let admin: AdminRequests
    let logger: Logger

    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Serves until graceful shutdown; `bound` is called with the port once the listener is up.
    func run(bound: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        let metrics = self.metrics
        let store = self.store
        let connections = self.connections
        router.get("metrics") { _, _ -> Response in
            let gauges = try await store.fleetGauges()
            let body = metrics.render(gauges, connections: connections.connectedCount)
            return Response(
                status: .ok,
                headers: [.contentType: Self.prometheusContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        AdminAPI(store: store, admin: admin).register(on: router)
        Console(store: store).register(on: router)
        let port = self.port
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { channel in await bound(channel.localAddress?.port ?? port) },
            logger: logger
        )
        do {
            try await application.run()
        } catch let error as IOError {
            throw CoordinatorError.invalidConfiguration(
                "cannot listen on \(host):\(port) (--http-listen): \(error.description); "
                    + "choose another address or port with --http-listen HOST:PORT"
            )
        }
    }
}
