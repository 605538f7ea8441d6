import FleetClient
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `fleet-agent --metrics-listen HOST:PORT`: the agent's ``AgentMetrics`` at `GET /metrics`, in Prometheus' text
/// format (0.0.4), served with Hummingbird 2 like the coordinator's listener. Loopback addresses only: nothing on
/// it is authenticated.
public struct AgentMetricsHTTP: Service {
    public let address: CoordinatorAddress
    public let metrics: AgentMetrics
    private let logger: Logger

    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Throws when `address` is not a loopback address: the counters would be readable by anyone on the network.
    public init(address: CoordinatorAddress, metrics: AgentMetrics, logger: Logger) throws {
        guard AgentService.isLoopback(address.host) else {
            throw AgentError(
                "--metrics-listen \(address): only a loopback address (127.0.0.1, ::1, localhost) is served, "
                    + "since the metrics endpoint has no authentication; scrape through an SSH tunnel or a local "
                    + "Prometheus agent"
            )
        }
        self.address = address
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        let metrics = self.metrics
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: Self.prometheusContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        let address = self.address
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                logger.info("metrics listening", metadata: ["address": "\(address.host):\(port)"])
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch let error as IOError {
            throw AgentError(
                "cannot listen on \(address) (--metrics-listen): \(error.description); "
                    + "choose another address or port with --metrics-listen HOST:PORT"
            )
        }
    }
}
