import FleetClient
import FleetWire
import NIOCore
import NIOPosix

extension LeafGateway {
    /// Leaf frames that may wait for the coordinator connection; more means the session is not keeping up.
    static let serialBacklog = 256

    /// `fleet-agent --leaf-serial PATH`: carries the one leaf on the serial line at `path` until cancelled, with NIO
    /// on the line's descriptor (SPEC 15b.6). A line that cannot be opened, or that fails (a USB adapter unplugged,
    /// the other side of a pseudo-terminal closed), is opened again every second.
    func carrySerial(path: String, baud: Int) async {
        var lastFailure = ""
        while !Task.isCancelled {
            do {
                let descriptor = try SerialPort.open(path: path, baud: baud)
                logger.info("leaf serial line open", metadata: ["device": "\(path)", "baud": "\(baud)"])
                lastFailure = ""
                try await carry(line: descriptor)
                logger.info("leaf serial line closed", metadata: ["device": "\(path)"])
            } catch is CancellationError {
                return
            } catch {
                // Said once per kind of failure, not every second.
                if "\(error)" != lastFailure {
                    logger.warning(
                        "leaf serial line unavailable; trying again every second",
                        metadata: ["device": "\(path)", "reason": "\(error)"]
                    )
                    lastFailure = "\(error)"
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func carry(line descriptor: CInt) async throws {
        let line = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(inputOutput: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SerialFrameHandler(maximumFrameLength: Self.leafFrameLimit)
                    )
                    return try NIOAsyncChannel<SerialLineEvent, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await line.executeThenClose { events, toLeaf in
            var session: SerialSession?
            do {
                for try await event in events {
                    session = try await handle(event, session: session, toLeaf: toLeaf)
                }
            } catch {
                await session?.end()
                throw error
            }
            await session?.end()
        }
    }

    /// One event from the line: a `hello` starts a new session (ending the one before: the leaf started over),
    /// other frames go to the session; without a session, or when the line lost frames or carried one that is not a
    /// message, the leaf is told to start over with an error (SPEC 15b.6).
    private func handle(
        _ event: SerialLineEvent,
        session: SerialSession?,
        toLeaf: LeafRelaySession.Writer
    ) async throws -> SerialSession? {
        func startOver(_ code: ErrorCode, _ why: String) async throws -> SerialSession? {
            await session?.end()
            let message = "\(why); the gateway dropped this leaf's session: send hello"
            try await toLeaf.write(Message.error(ErrorMessage(code: code, message: message)).encodedFrame())
            return nil
        }
        switch event {
        case .lostSync(let reason):
            logger.debug("leaf serial line lost frames", metadata: ["reason": "\(reason)"])
            return try await startOver(.malformedMessage, "bytes lost on the serial line (\(reason))")
        case .frame(let frame):
            let message: Message
            do {
                message = try Message(frame: frame)
            } catch {
                return try await startOver(.malformedMessage, "\(error)")
            }
            if case .hello = message {
                await session?.end()
                return startSession(hello: frame, toLeaf: toLeaf)
            }
            guard let session else { return try await startOver(.unexpectedMessage, "no session") }
            guard session.pass(frame) else {
                return try await startOver(.unavailable, "more than \(Self.serialBacklog) frames waiting")
            }
            return session
        }
    }

    private func startSession(hello: Frame, toLeaf: LeafRelaySession.Writer) -> SerialSession {
        let (frames, continuation) = AsyncThrowingStream<Frame, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(Self.serialBacklog)
        )
        continuation.yield(hello)
        let task = Task {
            var leafSawWhy = false
            do {
                leafSawWhy = try await carry(frames, toLeaf: toLeaf)
            } catch {
                logger.debug("leaf serial session ended", metadata: ["reason": "\(error)"])
            }
            // The coordinator's side ended on its own: tell the leaf to start over, as closing a TCP connection
            // would (unless the leaf started over already, which cancelled this task, or saw the coordinator's error).
            guard !Task.isCancelled, !leafSawWhy else { return }
            let error = ErrorMessage(
                code: .unavailable,
                message: "the gateway's coordinator connection for this leaf ended: send hello"
            )
            try? await toLeaf.write(Message.error(error).encodedFrame())
        }
        return SerialSession(frames: continuation, task: task)
    }
}

/// A leaf's session on a serial line: its frames go to ``LeafGateway/carry(_:toLeaf:)`` in `task`.
struct SerialSession: Sendable {
    let frames: AsyncThrowingStream<Frame, any Error>.Continuation
    let task: Task<Void, Never>

    /// Passes a frame on; false when too many wait.
    func pass(_ frame: Frame) -> Bool {
        if case .enqueued = frames.yield(frame) { return true }
        return false
    }

    /// Ends the session (its coordinator connection closes) and waits until it has.
    func end() async {
        task.cancel()
        frames.finish()
        await task.value
    }
}
