import FleetClient
import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One connection's worth of work: connect, hello, enrol or authenticate, then heartbeats and state reports
/// until the connection ends. Each step reports to the state machine.
struct AgentSession: Sendable {
    let configuration: AgentConfiguration
    /// The coordinators; each session connects to the current one.
    let coordinators: CoordinatorRotation
    let identity: DeviceIdentity
    let deviceID: String
    let state: AgentStateStore
    let keyring: ModelKeyring
    let logger: Logger
    /// Features that take part in every session (federated training, observability).
    var features: [any AgentFeature] = []
    /// Why the last session ended, for the service's retry log.
    let lastFailure = LastFailure()
    /// The wait the coordinator asked for in its last `busy` answer, until the next reconnect takes it.
    let busyWait = BusyWait()
    /// The agent's counters (sessions, model reports); nil: not counted.
    var metrics: AgentMetrics? = nil

    /// Runs one session; returns the event that ended it.
    func connectAndServe(_ machine: inout AgentStateMachine) async -> AgentStateMachine.Event {
        let box = MachineBox(machine)
        defer {
            machine = box.value
            metrics?.sessionEnded()
        }
        do {
            return try await cancelWhenGracefulShutdown {
                try await FleetConnection.withConnection(to: coordinators.current, tls: configuration.tls) {
                    connection in
                    try await serve(&connection, box)
                }
            }
        } catch let error as FleetClientError {
            if let refusal = error.refusal {
                logger.warning(
                    "coordinator refused",
                    metadata: ["error": "\(refusal.message)", "code": "\(refusal.code)"]
                )
                return .refused(refusal.code)
            }
            if let wait = error.retryAfter { busyWait.set(wait) }
            lastFailure.set("\(error)")
            return .connectionFailed
        } catch {
            lastFailure.set("\(error)")
            return .connectionFailed
        }
    }

    private func serve(
        _ connection: inout FleetConnection,
        _ machine: MachineBox
    ) async throws -> AgentStateMachine.Event {
        guard machine.handle(.connected) == .sendHello else { return .connectionFailed }
        let accept = try await connection.hello(role: .device, software: configuration.software)
        switch machine.handle(.helloAccepted) {
        case .enrol:
            guard let token = configuration.token else { return .refused(.tokenUnknown) }
            let welcome = try await connection.enrol(
                token: token,
                identity: identity,
                nonce: accept.nonce,
                name: configuration.name ?? ProcessInfo.processInfo.hostName,
                labels: configuration.labels,
                capabilities: capabilities(),
                software: configuration.software
            )
            try await state.markEnrolled(deviceID: welcome.deviceID, labels: welcome.labels)
            try await state.pinReleaseKeyIfUnset(welcome.releasePublicKey)
            _ = machine.handle(.welcomed)
            metrics?.sessionStarted()
            logger.info("enrolled", metadata: ["device": "\(welcome.deviceID)"])
        case .authenticate:
            let welcome = try await connection.authenticate(deviceID: deviceID, identity: identity, nonce: accept.nonce)
            try await state.pinReleaseKeyIfUnset(welcome.releasePublicKey)
            _ = machine.handle(.welcomed)
            metrics?.sessionStarted()
            logger.info("connected", metadata: ["device": "\(welcome.deviceID)"])
        default:
            return .connectionFailed
        }
        // A clean stop says goodbye, so the coordinator marks the device offline at once (SPEC 5.11a).
        let sendImmediately = connection.sendImmediately
        try await withGracefulShutdownHandler {
            try await runSession(&connection, accept: accept, machine)
        } onGracefulShutdown: {
            sendImmediately(.goodbye)
        }
        return .disconnected
    }

    /// Heartbeats at the announced interval; a coordinator silent past the offline timeout ends the session.
    /// Meanwhile it answers the coordinator's desired state: fetch, verify, install, report. The first answered
    /// heartbeat tells the state machine that the session is established.
    private func runSession(
        _ connection: inout FleetConnection,
        accept: HelloAccept,
        _ machine: MachineBox
    ) async throws {
        let interval = Duration.milliseconds(max(accept.heartbeatIntervalMilliseconds, 100))
        let silenceLimit = Duration.milliseconds(max(accept.offlineTimeoutMilliseconds, 300))
        let lastHeard = LastHeard()
        let counter = RequestIDCounter()
        var requestIDs = RequestIDs(counter: counter)
        let reports = ModelReportOutbox(store: state.store, metrics: metrics)
        var sync = ModelSync(
            dataDirectory: configuration.dataDirectory,
            deviceID: deviceID,
            releaseKey: try await state.pinnedReleaseKey() ?? [],
            keyring: keyring,
            reports: reports,
            logger: logger
        )
        var pendingReports: [UInt64: Int64] = [:]
        defer { keyring.disconnected() }
        var early = try await receiveModelKey(&connection, requestID: requestIDs.next())
        try await connection.send(.stateReport(currentState(requestID: requestIDs.next(), sync: sync)))
        try await flushReports(reports, &connection, &requestIDs, &pendingReports)
        let outbound = connection.outbound
        let maximum = connection.maximumFrameLength
        let link = AgentLink(
            send: { message in
                let frame = message.encodedFrame()
                let length = frame.readableBytes - Frame.lengthPrefixSize
                guard length <= maximum else {
                    throw FrameTooLarge(type: message.type, length: length, maximum: maximum)
                }
                try await outbound.write(frame)
            },
            nextRequestID: { counter.next() }
        )
        let close = connection.close
        // However the session ends (the coordinator closed, a send failed, a feature threw), the model sync and the
        // features hear it, so that no request of theirs waits for an answer on a connection that is gone.
        do {
            for feature in features { try await feature.connected(link) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: interval)
                        if lastHeard.silence > silenceLimit {
                            // The reading loop below waits in `next()`: only closing the connection ends it (a
                            // child's error alone would wait for the loop), and the session then reconnects.
                            close()
                            throw AgentError("coordinator silent for over \(silenceLimit)")
                        }
                        try await outbound.write(Message.heartbeat.encodedFrame())
                    }
                }
                var established = false
                while true {
                    let message: Message
                    if !early.isEmpty {
                        message = early.removeFirst()
                    } else if let next = try await connection.next() {
                        message = next
                    } else {
                        break
                    }
                    lastHeard.mark()
                    if case .heartbeatAck = message, !established {
                        established = true
                        _ = machine.handle(.established)
                    }
                    if let retry = sync.tick(nextRequestID: { requestIDs.next() }) {
                        try await connection.send(.fetchModel(retry))
                    }
                    for feature in features { try await feature.tick(link) }
                    var handled = false
                    for feature in features where !handled { handled = try await feature.handle(message, link) }
                    if handled { continue }
                    switch message {
                    case .desiredState(let desired):
                        try await state.saveDesired(desired)
                        if let fetch = await sync.desired(desired, nextRequestID: { requestIDs.next() }) {
                            try await connection.send(.fetchModel(fetch))
                        }
                        try await flushReports(reports, &connection, &requestIDs, &pendingReports)
                    case .transferStart(let start):
                        try await sync.started(start)
                    case .transferChunk(let chunk):
                        let (installed, next) = try await sync.chunk(chunk, nextRequestID: { requestIDs.next() })
                        if installed {
                            try await connection.send(
                                .stateReport(currentState(requestID: requestIDs.next(), sync: sync))
                            )
                        }
                        if let next { try await connection.send(.fetchModel(next)) }
                        try await flushReports(reports, &connection, &requestIDs, &pendingReports)
                    case .ack(let ack):
                        if let sequence = pendingReports.removeValue(forKey: ack.requestID) {
                            try await reports.acknowledge(upTo: sequence)
                        }
                    case .error(let error):
                        if error.code.closesConnection { throw FleetClientError.refused(error) }
                        await sync.failed(requestID: error.requestID, error: error)
                    default:
                        break
                    }
                }
                group.cancelAll()
            }
        } catch {
            sync.disconnected()
            for feature in features { await feature.disconnected() }
            throw error
        }
        sync.disconnected()
        for feature in features { await feature.disconnected() }
        if lastHeard.silence > silenceLimit {
            throw AgentError("coordinator silent for over \(silenceLimit)")
        }
    }

    /// Asks for the device's model-protection key and waits for it, before the state report, so that a protected
    /// model named in the desired state can be sealed when it arrives. Returns the messages that came meanwhile,
    /// to be handled in order. A coordinator without the feature answers with an error: protected models then stay
    /// locked and cannot be installed.
    private func receiveModelKey(_ connection: inout FleetConnection, requestID: UInt64) async throws -> [Message] {
        try await connection.send(.modelKeyRequest(ModelKeyRequest(requestID: requestID)))
        var early: [Message] = []
        while let message = try await connection.next() {
            switch message {
            case .modelKey(let answer) where answer.requestID == requestID:
                keyring.received(answer.key)
                return early
            case .error(let error) where error.requestID == requestID:
                logger.warning(
                    "the coordinator sent no model-protection key: protected models stay locked",
                    metadata: ["error": "\(error.message)"]
                )
                return early
            case .error(let error) where error.code.closesConnection:
                throw FleetClientError.refused(error)
            default:
                early.append(message)
            }
        }
        throw AgentError("the coordinator closed the connection before answering the key request")
    }

    /// Sends queued model reports that have not been sent on this connection yet.
    private func flushReports(
        _ reports: ModelReportOutbox,
        _ connection: inout FleetConnection,
        _ requestIDs: inout RequestIDs,
        _ pending: inout [UInt64: Int64]
    ) async throws {
        let sent = Set(pending.values)
        for (sequence, var report) in try await reports.pending() where !sent.contains(sequence) {
            report.requestID = requestIDs.next()
            // The same id each time the report is sent, so the coordinator records it once.
            report.reportID = UInt64(sequence)
            pending[report.requestID] = sequence
            try await connection.send(.modelReport(report))
        }
    }

    private func currentState(requestID: UInt64, sync: ModelSync) -> StateReport {
        StateReport(
            requestID: requestID,
            software: configuration.software,
            capabilities: capabilities(),
            installedModels: sync.installedModels()
        )
    }

    func capabilities() -> [String: String] {
        var detected = CapabilityProbe.detect(dataDirectory: configuration.dataDirectory)
        for (key, value) in configuration.capabilityOverrides {
            detected[key] = CapabilityProbe.normalise(key: key, value: value)
        }
        return detected
    }
}

/// The state machine shared between the session's steps and the code that reads the final state
/// after a failure. Steps run one at a time; the lock only makes the sharing explicit.
final class MachineBox: Sendable {
    private let machine: Mutex<AgentStateMachine>

    init(_ machine: AgentStateMachine) { self.machine = Mutex(machine) }

    var value: AgentStateMachine { machine.withLock { $0 } }

    func handle(_ event: AgentStateMachine.Event) -> AgentStateMachine.Action {
        machine.withLock { $0.handle(event) }
    }
}

/// Why the last connection failed or ended, kept by the session for the service's retry log.
final class LastFailure: Sendable {
    private let reason = Mutex<String?>(nil)
    func set(_ text: String) { reason.withLock { $0 = text } }
    /// The reason, once: the next failure sets a new one.
    func take() -> String? {
        reason.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// When the coordinator last sent anything, shared by the reader and the heartbeat task.
final class LastHeard: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    func mark() { instant.withLock { $0 = ContinuousClock.now } }
    var silence: Duration { ContinuousClock.now - instant.withLock { $0 } }
}

/// The session's view of the connection's request ids.
struct RequestIDs {
    let counter: RequestIDCounter
    func next() -> UInt64 { counter.next() }
}

/// The wait a coordinator's `busy` asked for, kept from the session that got it to the next reconnect.
final class BusyWait: Sendable {
    private let wait = Mutex<Duration?>(nil)

    func set(_ duration: Duration) { wait.withLock { $0 = duration } }

    /// The wait, once; nil when the last session did not end with `busy`.
    func take() -> Duration? { wait.withLock { $0.take() } }
}
