import FleetLearning
import FleetStore
import FleetStorePostgres
import FleetTrust
import FleetWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// `fleet-coordinator` as a `Service`: binds the device link, serves connections with a plain
/// ChannelHandler pipeline (about 3.5 KB per idle connection), and flushes presence to SQLite.
/// Returns when shut down gracefully (SIGTERM/SIGINT through ServiceGroup).
public struct CoordinatorService: Service {
    public let configuration: CoordinatorConfiguration
    private let logger: Logger
    private let onBound: @Sendable (CoordinatorDataDirectory.Endpoint) -> Void

    public init(
        configuration: CoordinatorConfiguration,
        logger: Logger,
        onBound: @escaping @Sendable (CoordinatorDataDirectory.Endpoint) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        try configuration.validate()
        let directory = CoordinatorDataDirectory(path: configuration.dataDirectory)
        if let wider = try directory.create() {
            logger.notice(
                "data directory made private",
                metadata: ["path": "\(directory.path)", "was": "\(String(wider, radix: 8))", "now": "700"]
            )
        }
        switch configuration.database {
        case .sqlite: try directory.claimDatabase(nil)
        case .postgres(let url, _, let passwordFile):
            try directory.claimDatabase(.init(url: url.description, passwordFile: passwordFile))
        }
        let blobDirectory = try directory.claimBlobDirectory(configuration.blobDirectory)
        if blobDirectory != directory.path {
            if let wider = try CoordinatorDataDirectory(path: blobDirectory).create() {
                logger.notice(
                    "blob directory made private",
                    metadata: ["path": "\(blobDirectory)", "was": "\(String(wider, radix: 8))", "now": "700"]
                )
            }
            logger.info("model files in the blob directory", metadata: ["path": "\(blobDirectory)"])
        }
        let metrics = CoordinatorMetrics()
        let writes =
            switch configuration.database {
            case .sqlite: metrics.sqliteWrite
            case .postgres: metrics.postgresWrite
            }
        let recordWrite: @Sendable (Duration) -> Void = { writes.record(duration: $0) }
        let serve = { (store: CoordinatorStore) async throws in
            let credential = try directory.loadOrCreateAdminCredential()
            try await self.serve(
                store,
                directory: directory,
                blobDirectory: blobDirectory,
                credential: credential,
                metrics: metrics
            )
        }
        switch configuration.database {
        case .sqlite:
            try await serve(try CoordinatorStore(path: directory.databasePath, writeObserver: recordWrite))
        case .postgres(let url, let password, _):
            logger.info("state in PostgreSQL", metadata: ["database": "\(url)"])
            try await PostgresCoordinatorStore.withStore(
                url,
                password: password,
                logger: logger,
                writeObserver: recordWrite
            ) { store in
                // The fleet's secrets are the database's: stored by the first coordinator, loaded by the others.
                try await FleetSecrets.reconcile(directory, store: store, database: url.description, logger: logger)
                try await serve(store)
            }
        }
    }

    /// Serves the fleet from `store` until shut down.
    private func serve(
        _ store: CoordinatorStore,
        directory: CoordinatorDataDirectory,
        blobDirectory: String,
        credential: AdminCredential,
        metrics: CoordinatorMetrics
    ) async throws {
        let now = Date()
        let silent = try await store.markSilentOffline(
            seenNoLaterThan: now.addingTimeInterval(-configuration.offlineTimeout.timeInterval),
            at: now
        )
        if silent > 0 {
            logger.info(
                "marked offline the devices silent for longer than the timeout",
                metadata: ["count": "\(silent)"]
            )
        }
        let sslContext = try configuration.tls.map(CoordinatorTLS.makeContext)

        let releaseKey = try ReleaseKeyFile.loadOrCreate(path: directory.releaseKeyPath)
        let presence = PresenceTracker(offlineTimeout: configuration.offlineTimeout.timeInterval)
        // Several coordinators may share a PostgreSQL database: messages for their devices go through its outbox.
        let relay: DeviceRelay? =
            switch configuration.database {
            case .sqlite: nil
            case .postgres: DeviceRelay()
            }
        let connections = ConnectionRegistry(relay: relay)
        var models = ModelRegistry(
            store: store,
            blobDirectory: blobDirectory,
            releaseKey: releaseKey,
            connections: connections,
            logger: logger
        )
        models.keepVersions = configuration.keepVersions
        var features = FeatureHandlers()
        // MARK: feature: model protection at rest
        features.device.append(
            ModelKeyService(
                coordinatorSecret: try MasterSecretFile.loadOrCreate(path: directory.modelProtectionKeyPath)
            )
        )
        // Stable across restarts: a coordinator restarted on its data directory takes its leases back at once; two
        // coordinators never share a directory.
        let leaseOwner = "\(ProcessInfo.processInfo.hostName):\(directory.path)"
        // MARK: feature: federated learning
        let rounds = RoundRunner(
            store: store,
            models: models,
            connections: connections,
            presence: presence,
            logger: logger,
            weightCap: try SampleWeightCap(medianMultiple: configuration.maximumSampleWeight),
            lease: WorkLease("rounds", store: store, owner: leaseOwner, duration: configuration.leaseDuration),
            acrossCoordinators: relay != nil
        )
        try await rounds.recoverInterruptedRounds()
        let learning = LearningService(runner: rounds, models: models)
        features.device.append(learning)
        features.admin.append(learning)
        // MARK: feature: observability
        var observability = ObservabilityService(store: store, connections: connections, logger: logger)
        observability.metrics = metrics
        features.device.append(observability)
        features.admin.append(observability)
        // MARK: feature: metering (pay per query)
        let quotas = QuotaService(store: store, releaseKey: releaseKey, connections: connections, logger: logger)
        features.device.append(quotas)
        features.admin.append(quotas)
        features.device.append(OffloadService(store: store, blobs: models.blobs, logger: logger))
        // MARK: feature: staged rollouts
        let rollouts = RolloutService(
            store: store,
            models: models,
            logger: logger,
            lease: WorkLease("rollouts", store: store, owner: leaseOwner, duration: configuration.leaseDuration)
        )
        features.admin.append(rollouts)
        features.device.append(HealthSummaryService(store: store, logger: logger))
        let refusals = RefusalLimiter(settings: configuration.refusals)
        var admin = AdminRequests(store: store, presence: presence, models: models)
        admin.features = features
        let context = CoordinatorContext(
            store: store,
            presence: presence,
            authority: DeviceAuthority(store: store, adminCredential: credential, logger: logger, refusals: refusals),
            admin: admin,
            models: models,
            connections: connections,
            streamer: TransferStreamer(
                chunkSize: configuration.transferChunkSize,
                rateLimit: configuration.transferRateLimit,
                metrics: metrics
            ),
            features: features,
            sessionSettings: .init(
                maximumFrameLength: configuration.maximumFrameLength,
                heartbeatIntervalMilliseconds: configuration.heartbeatInterval.milliseconds,
                offlineTimeoutMilliseconds: configuration.offlineTimeout.milliseconds,
                releasePublicKey: releaseKey.publicKey,
                busyRetryAfterMilliseconds: configuration.busyRetryAfter.milliseconds
            ),
            handshakeTimeout: configuration.handshakeTimeout.timeAmount,
            admission: HandshakeAdmission(
                limits: .init(
                    maximumConnections: configuration.maximumHandshakingConnections,
                    maximumBytes: configuration.maximumHandshakeBytes
                )
            ),
            metrics: metrics,
            logger: logger
        )

        let channel = try await bind(context: context, sslContext: sslContext)
        let flusher = PresenceFlusher(
            tracker: presence,
            store: store,
            interval: configuration.flushInterval,
            metrics: metrics,
            logger: logger
        )
        let httpTLS = try configuration.tls.map(CoordinatorTLS.makeConfiguration)
        let http = configuration.httpListen.map {
            OperatorHTTP(
                host: $0.host,
                port: $0.port,
                metrics: metrics,
                store: store,
                connections: connections,
                admin: admin,
                logger: logger,
                tls: CoordinatorConfiguration.isLoopback($0.host) ? nil : httpTLS
            )
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await flusher.run() }
                group.addTask { await rollouts.run() }
                group.addTask { await rounds.watchForInterruptedRounds() }
                if let relay {
                    group.addTask { await rounds.watchForForwardedUpdates() }
                    group.addTask {
                        await RelayService(relay: relay, connections: connections, store: store, logger: logger).run()
                    }
                }
                group.addTask {
                    try await RefusalRecorder(limiter: refusals, store: store, interval: .seconds(5), logger: logger)
                        .run()
                }
                group.addTask { try await channel.closeFuture.get() }
                var httpAddress: String?
                if let http {
                    let (bound, continuation) = AsyncStream.makeStream(of: Int.self)
                    group.addTask {
                        defer { continuation.finish() }
                        try await http.run { port in continuation.yield(port) }
                    }
                    for await port in bound {
                        httpAddress = "\(http.host):\(port)"
                        break
                    }
                    guard httpAddress != nil else { return }  // it could not listen: the group throws why
                }
                try announce(channel: channel, directory: directory, sslContext: sslContext, http: httpAddress)
            }
        } onGracefulShutdown: {
            logger.info("shutting down: closing the listener")
            Task { await rounds.stop() }
            channel.close(promise: nil)
        }
        // The round job records how its round ended before the process exits.
        await rounds.stop()
        logger.info("coordinator stopped")
    }

    /// Writes `coordinator.json` (where fleetctl and the tests find the ports) and logs where the coordinator listens.
    private func announce(
        channel: any Channel,
        directory: CoordinatorDataDirectory,
        sslContext: NIOSSLContext?,
        http: String?
    ) throws {
        let port = channel.localAddress?.port ?? configuration.port
        let endpoint = CoordinatorDataDirectory.Endpoint(
            host: configuration.host,
            port: port,
            tls: sslContext != nil,
            certificatePath: configuration.tls?.certificatePath,
            pid: ProcessInfo.processInfo.processIdentifier,
            http: http
        )
        try directory.writeEndpoint(endpoint)
        logger.info(
            "coordinator listening",
            metadata: [
                "address": "\(configuration.host):\(port)", "tls": "\(sslContext != nil)",
                "data-dir": "\(configuration.dataDirectory)", "http": "\(http ?? "none")",
            ]
        )
        onBound(endpoint)
    }

    private func bind(context: CoordinatorContext, sslContext: NIOSSLContext?) async throws -> any Channel {
        let logger = self.logger
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors (EMFILE): pause accepting for a second instead of spinning on accept(2).
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler())
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let sslContext {
                        try operations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    // Until welcome: counted under the handshake caps, and frames stay within the handshake limit.
                    let gate = HandshakeGate(admission: context.admission, refusals: context.authority.refusals)
                    try operations.addHandler(gate)
                    let limit = FrameLengthLimit(maximum: Frame.handshakeMaximumLength)
                    try operations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
                    try operations.addHandler(ConnectionHandler(context: context, frameLimit: limit, gate: gate))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }
}

/// Logs accept failures (such as running out of file descriptors) and keeps the listener serving.
final class AcceptErrorHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    private let logger: Logger
    private var lastLogged = NIODeadline.distantPast

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        if now - lastLogged > .seconds(5) {
            lastLogged = now
            logger.error(
                "accept failed; still serving existing connections",
                metadata: ["error": "\(error)", "hint": "raise the open-files limit (ulimit -n)"]
            )
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension AcceptErrorHandler: Sendable {}
