import FleetStore
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// The operator's HTTP listener (`fleet-coordinator --http-listen HOST:PORT`), served with Hummingbird 2:
/// `GET /metrics` in Prometheus' text format (0.0.4), the HTTP admin API under `/api/v1/` (``AdminAPI``, every
/// endpoint behind a bearer token) and the console's HTML pages (``Console``). On a loopback address `/metrics` and
/// the console's pages need no token; on any other address the listener serves TLS (the device link's certificate)
/// and they need a read token too (``RequireReadToken``).
struct OperatorHTTP: Sendable {
    let host: String
    let port: Int
    let metrics: CoordinatorMetrics
    let store: CoordinatorStore
    let connections: ConnectionRegistry
    let admin: AdminRequests
    let logger: Logger
    /// The TLS configuration of a listener off loopback (``CoordinatorConfiguration`` refuses one without it).
    let tls: TLSConfiguration?

    /// Whether `/metrics` and the console need a token: on any address but loopback.
    var requiresToken: Bool { !CoordinatorConfiguration.isLoopback(host) }

    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Serves until graceful shutdown; `bound` is called with the port once the listener is up.
    func run(bound: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        let metrics = self.metrics
        let store = self.store
        let connections = self.connections
        let signIn = ConsoleSignIn(authorization: APIAuthorization(store: store), secure: tls != nil)
        AdminAPI(store: store, admin: admin).register(on: router)
        signIn.register(on: router)
        // Routes registered from here on need a token off loopback.
        if requiresToken { router.add(middleware: RequireReadToken(signIn: signIn)) }
        router.get("metrics") { _, _ -> Response in
            let gauges = try await store.fleetGauges()
            let body = metrics.render(gauges, connections: connections.connectedCount)
            return Response(
                status: .ok,
                headers: [.contentType: Self.prometheusContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        Console(store: store).register(on: router)
        ConsoleActions(store: store, admin: admin, signIn: signIn).register(on: router)
        let port = self.port
        let application = Application(
            router: router,
            server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
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
