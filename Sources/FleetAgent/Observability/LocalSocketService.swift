import FleetStore
import FleetTrust
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The agent's local interface for applications on the device (`Protocol/LOCAL.md`): newline-delimited JSON
/// on a Unix-domain socket whose every peer is checked against the ``LocalAccessPolicy`` (SO_PEERCRED), and the
/// reporting-window timer that turns the drift summary into a report every `reportInterval`.
///
/// One task per connection in a discarding task group; a failing connection is logged and closed without
/// stopping the server. Requests are served one after another per connection, off the event loop.
public struct LocalSocketService: Service {
    /// The longest request line accepted (1 MiB: about 2,000 rows of 64 features).
    public static let maximumRequestBytes = 1 << 20

    public let configuration: AgentConfiguration
    /// The model-protection key, shared with the ``AgentService`` that receives it.
    public let keyring: ModelKeyring
    private let logger: Logger

    /// Offloaded inference through the session of the same process (SPEC 15a.6); nil: none.
    public let cloud: CloudLink?
    /// The agent's counters: every answer is counted here, and the `metrics` op reads them.
    public let metrics: AgentMetrics
    /// Tells the ``AgentService`` of the same process that usage receipts were recorded.
    public let usage: UsageSignal?

    public init(
        configuration: AgentConfiguration,
        keyring: ModelKeyring,
        cloud: CloudLink? = nil,
        metrics: AgentMetrics = AgentMetrics(),
        usage: UsageSignal? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.keyring = keyring
        self.cloud = cloud
        self.metrics = metrics
        self.usage = usage
        self.logger = logger
    }

    /// The socket path: `--local-socket`, or `DATA_DIR/agent.sock`.
    public static func socketPath(_ configuration: AgentConfiguration) -> String {
        configuration.localSocketPath ?? configuration.dataDirectory + "/agent.sock"
    }

    public func run() async throws {
        try PrivateFiles.prepareDirectory(configuration.dataDirectory)
        // The daemon's session opens (and migrates) the same database and creates the identity key: wait for
        // the device to be enrolled rather than race it.
        let databasePath = configuration.databasePath
        let enrolled = try? await cancelWhenGracefulShutdown { try await Self.waitForEnrolment(databasePath) }
        guard let state = enrolled ?? nil else { return }
        let store = state.store
        let identity = try await state.loadOrCreateIdentity()
        var observability = LocalObservability(
            store: store,
            consent: AgentConsentBook(store: store, identity: identity),
            models: InstalledModels(dataDirectory: configuration.dataDirectory, keyring: keyring)
        )
        let keyring = self.keyring
        observability.meter = Meter(
            store: store,
            identity: identity,
            deviceID: try await state.enrolledDeviceID() ?? DeviceIdentity.deviceID(forPublicKey: identity.publicKey),
            releaseKey: { try await state.pinnedReleaseKey() },
            isConnected: { keyring.isConnected },
            pushedMetered: { try await state.isPushedMetered($0) },
            usage: usage
        )
        observability.cloud = cloud
        observability.offloadBusy = configuration.offloadBusy
        let local = observability
        let access = configuration.localAccess
        let path = Self.socketPath(configuration)
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await Self.bindPrivately(path, mode: mode_t(access.socketMode))
        } catch {
            // The agent keeps syncing without its local interface; say why it is missing.
            logger.error("local interface unavailable", metadata: ["socket": "\(path)", "error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        logger.info("local interface listening", metadata: ["socket": "\(path)"])
        let interval = configuration.reportInterval
        let logger = self.logger
        let metrics = self.metrics
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    // The reporting window: close it every interval.
                    while !Task.isCancelled {
                        do {
                            try await Task.sleep(for: interval)
                        } catch {
                            return
                        }
                        do {
                            let queued = try await local.closeWindows()
                            if queued > 0 { logger.debug("drift window closed", metadata: ["reports": "\(queued)"]) }
                        } catch {
                            logger.warning("closing the drift window failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            do {
                                try await Self.serve(
                                    connection,
                                    local,
                                    access: access,
                                    metrics: metrics,
                                    logger: logger
                                )
                            } catch {
                                logger.debug("local connection ended", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        try? FileManager.default.removeItem(atPath: path)
        logger.info("local interface stopped")
    }

    /// Binds the socket where no other user can reach it (a fresh 0700 directory beside `path`), gives it `mode`
    /// there (0600 unless the access policy lets other users in; ``LocalAccessPolicy``), then renames it into
    /// place: it never exists at `path` with the mode bind(2) gives (0777 less the umask). A stale socket at `path`
    /// is replaced; anything else there is refused.
    private static func bindPrivately(
        _ path: String,
        mode: mode_t
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
            throw AgentError("\(path) exists and is not a socket: remove it or choose another --local-socket")
        }
        let staging = (path as NSString).deletingLastPathComponent + "/.s" + Digest.hex(Digest.randomBytes(4))
        guard mkdir(staging, 0o700) == 0 else {
            throw AgentError("cannot create \(staging) to bind the local socket: \(String(cString: strerror(errno)))")
        }
        defer { rmdir(staging) }
        let temporary = staging + "/s"
        let server = try await bind(temporary)
        guard chmod(temporary, mode) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? await server.channel.close()
            unlink(temporary)
            throw AgentError("cannot put the local socket at \(path): \(reason)")
        }
        return server
    }

    private static func bind(
        _ path: String
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(
                            LineFrameDecoder(maximumLength: Self.maximumRequestBytes),
                            maximumBufferSize: Self.maximumRequestBytes + 1
                        )
                    )
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private static func waitForEnrolment(_ path: String) async throws -> AgentStateStore? {
        while true {
            // Read-only first: opening read-write migrates, and two connections migrating the same new file at
            // once would make one of them fail. Once the session has enrolled, the schema is complete.
            if let probe = try? AgentStore.openReadOnly(path: path) {
                let enrolled = (try? await AgentStateStore(store: probe).enrolledDeviceID()) != nil
                try? await probe.close()
                if enrolled { return AgentStateStore(store: try AgentStore(path: path)) }
            }
            do {
                try await Task.sleep(for: .milliseconds(200))
            } catch {
                return nil
            }
        }
    }

    private static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
        _ local: LocalObservability,
        access: LocalAccessPolicy,
        metrics: AgentMetrics,
        logger: Logger
    )
        async throws
    {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func line(_ response: LocalResponse) throws -> ByteBuffer {
            var buffer = ByteBuffer(bytes: try encoder.encode(response))
            buffer.writeInteger(UInt8(ascii: "\n"))
            return buffer
        }
        let peer = try await peerCredentials(connection.channel)
        try await connection.executeThenClose { inbound, outbound in
            guard let peer, access.allows(peer) else {
                logger.notice(
                    "local connection refused",
                    metadata: ["uid": "\(peer?.uid ?? 0)", "gid": "\(peer?.gid ?? 0)", "pid": "\(peer?.pid ?? 0)"]
                )
                let who = peer.map { "uid \($0.uid) (gid \($0.gid))" } ?? "an unidentified peer"
                try await outbound.write(
                    try line(
                        .failure(
                            "forbidden",
                            "\(who) may not use this agent's socket: start the agent with --local-allow-uid or "
                                + "--local-allow-group"
                        )
                    )
                )
                return
            }
            for try await request in inbound {
                if request.readableBytes == 0 { continue }
                let decoded: LocalRequest
                do {
                    decoded = try JSONDecoder().decode(LocalRequest.self, from: Data(request.readableBytesView))
                } catch {
                    try await outbound.write(try line(.failure("bad-request", "not a JSON request: \(error)")))
                    continue
                }
                let began = ContinuousClock.now
                switch decoded.op {
                case "model":
                    // The weights file follows the answer line: exactly `size` bytes.
                    let (response, bytes) = await local.weightsFile(model: decoded.model)
                    metrics.answered(decoded, response, elapsed: ContinuousClock.now - began)
                    var buffer = try line(response)
                    buffer.writeBytes(bytes)
                    try await outbound.write(buffer)
                case "metrics":
                    var response = LocalResponse(ok: true)
                    // Counted before the snapshot, which therefore includes this request.
                    metrics.answered(decoded, response, elapsed: ContinuousClock.now - began)
                    response.metrics = metrics.samples()
                    try await outbound.write(try line(response))
                default:
                    try await local.serve(decoded) { response in
                        metrics.answered(decoded, response, elapsed: ContinuousClock.now - began)
                        try await outbound.write(try line(response))
                    }
                }
            }
        }
    }

    /// The connected peer's pid, uid and gid (SO_PEERCRED), or nil when the kernel does not say.
    private static func peerCredentials(_ channel: any Channel) async throws -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        ).get()
        return credentials
    }
}

/// A client of the local socket, for `fleet-agent infer` and `fleet-agent samples add`.
public enum LocalSocketClient {
    /// Sends one request and waits for its answer; throws when no daemon listens at `path`.
    public static func request(_ request: LocalRequest, path: String) async throws -> LocalResponse {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(
                            LineFrameDecoder(maximumLength: 64 << 20),
                            maximumBufferSize: (64 << 20) + 1
                        )
                    )
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var buffer = ByteBuffer(bytes: try encoder.encode(request))
        buffer.writeInteger(UInt8(ascii: "\n"))
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(buffer)
            for try await line in inbound {
                return try JSONDecoder().decode(LocalResponse.self, from: Data(line.readableBytesView))
            }
            throw LocalRequestError("internal", "the agent closed the local connection without an answer")
        }
    }
}
