import FleetWire

/// The life of one coordinator connection, as a value: the handler feeds it messages and carries out
/// the actions it returns. It does no I/O and owns no clock, so its transitions are tested directly.
///
/// ```
/// awaitingHello --hello--> awaitingCredentials(nonce) --enrol/authenticate--> verifying --ok--> device(id)
///                                                      --adminAuthenticate--------------------> admin
/// any state --protocol violation--> closed
/// any state before device/admin --over a handshake cap--> closed (after `busy`)
/// ```
///
/// Frames stay within ``Frame/handshakeMaximumLength`` until `welcome`; the negotiated maximum applies only after
/// it, so an unauthenticated peer can never make the coordinator buffer more than that per frame.
struct SessionStateMachine {
    enum State: Equatable {
        case awaitingHello
        case awaitingCredentials(nonce: [UInt8], role: PeerRole)
        case verifying(nonce: [UInt8])
        case device(id: String)
        case admin
        case closed
    }

    enum Action: Equatable {
        /// Send a message; the connection stays open.
        case send(Message)
        /// Send this error, then close the connection.
        case fail(ErrorMessage)
        /// Send `busy`, then close the connection.
        case busy(Busy)
        /// Check the enrolment (signature, token) and answer with ``welcomed(deviceID:labels:)`` or ``failed(_:)``.
        case verifyEnrolment(Enrol, nonce: [UInt8])
        /// Look up the device, check its signature, then answer as above.
        case verifyDevice(Authenticate, nonce: [UInt8])
        /// Check the admin proof.
        case verifyAdmin(AdminAuthenticate, nonce: [UInt8])
        /// Record that the device is alive, and acknowledge.
        case heartbeat(deviceID: String)
        /// The device is stopping: mark it offline now and close the connection, without an answer.
        case goodbye(deviceID: String)
        /// Store the reported state, then acknowledge.
        case storeState(deviceID: String, StateReport)
        /// Stream a model payload to the device in chunks that fit `frameBudget`.
        case fetchModel(deviceID: String, FetchModel, frameBudget: Int)
        /// Record an install or refusal, then acknowledge.
        case modelReport(deviceID: String, ModelReport)
        /// A device request for a feature service (learning, observability); answered by what it returns.
        case deviceRequest(deviceID: String, Message)
        /// Run an administration request; the answer must fit in `frameBudget` bytes.
        case adminRequest(Message, frameBudget: Int)
        /// Nothing to do.
        case none
    }

    struct Settings: Equatable {
        var maximumFrameLength: Int
        var heartbeatIntervalMilliseconds: Int
        var offlineTimeoutMilliseconds: Int
        /// Sent in ``Welcome`` so that agents pin it.
        var releasePublicKey: [UInt8] = []
        /// Announced in `busy` when the coordinator is at a handshake cap.
        var busyRetryAfterMilliseconds = 1000
    }

    private(set) var state: State = .awaitingHello
    /// A gateway's claim to carry this connection for a leaf, checked with the leaf's credentials.
    private(set) var gatewayClaim: GatewayClaim?
    let settings: Settings
    /// The frame limit both sides agreed on in the handshake; answers must fit it.
    private(set) var negotiatedFrameLength = Frame.handshakeMaximumLength

    init(settings: Settings) {
        self.settings = settings
    }

    /// The device this connection authenticated as, if any.
    private var isAuthenticated: Bool {
        switch state {
        case .device, .admin: true
        default: false
        }
    }

    var deviceID: String? {
        if case .device(let id) = state { return id }
        return nil
    }

    mutating func receive(_ message: Message, nonce makeNonce: () -> [UInt8], now milliseconds: UInt64) -> Action {
        if isAuthenticated, message.requestID == 0 {
            // An answer with id 0 would read as an error about the whole connection (section 10).
            return fail(.malformedMessage, "\(message.type) with request id 0: number requests from 1")
        }
        switch (state, message) {
        case (.closed, _):
            return .none
        case (.awaitingHello, .hello(let hello)):
            guard let version = ProtocolVersion.negotiate(hello.minimumVersion...hello.maximumVersion) else {
                return fail(
                    .unsupportedVersion,
                    "no common protocol version: client speaks \(hello.minimumVersion)-\(hello.maximumVersion), "
                        + "coordinator speaks \(ProtocolVersion.supported.lowerBound)-\(ProtocolVersion.supported.upperBound)"
                )
            }
            let nonce = makeNonce()
            state = .awaitingCredentials(nonce: nonce, role: hello.role)
            negotiatedFrameLength = min(settings.maximumFrameLength, max(hello.maximumFrameLength, 1024))
            return .send(
                .helloAccept(
                    HelloAccept(
                        version: version,
                        maximumFrameLength: negotiatedFrameLength,
                        heartbeatIntervalMilliseconds: settings.heartbeatIntervalMilliseconds,
                        offlineTimeoutMilliseconds: settings.offlineTimeoutMilliseconds,
                        nonce: nonce,
                        serverTimeMilliseconds: milliseconds
                    )
                )
            )
        case (.awaitingCredentials(let nonce, .device), .gatewayClaim(let claim)):
            guard gatewayClaim == nil else { return fail(.unexpectedMessage, "a second gatewayClaim") }
            guard claim.nonce == nonce else {
                return fail(.replayedNonce, "gateway claim is for another connection's nonce")
            }
            gatewayClaim = claim
            return .none
        case (.awaitingCredentials(let nonce, .device), .enrol(let enrol)):
            state = .verifying(nonce: nonce)
            return .verifyEnrolment(enrol, nonce: nonce)
        case (.awaitingCredentials(let nonce, .device), .authenticate(let authenticate)):
            state = .verifying(nonce: nonce)
            guard authenticate.nonce == nonce else {
                return fail(.replayedNonce, "signature is for another connection's nonce")
            }
            return .verifyDevice(authenticate, nonce: nonce)
        case (.awaitingCredentials(let nonce, .admin), .adminAuthenticate(let admin)):
            state = .verifying(nonce: nonce)
            guard admin.nonce == nonce else { return fail(.replayedNonce, "proof is for another connection's nonce") }
            return .verifyAdmin(admin, nonce: nonce)
        case (.device(let id), .heartbeat):
            return .heartbeat(deviceID: id)
        case (.device(let id), .goodbye):
            // The state stays `device` until the handler's close, so the connection's clean-up still knows the device.
            return .goodbye(deviceID: id)
        case (.device(let id), .stateReport(let report)):
            return .storeState(deviceID: id, report)
        case (.device(let id), .fetchModel(let request)):
            return .fetchModel(deviceID: id, request, frameBudget: negotiatedFrameLength)
        case (.device(let id), .modelReport(let report)):
            return .modelReport(deviceID: id, report)
        case (.device(let id), .trainUpdate), (.device(let id), .consentUpdate), (.device(let id), .sampleBatch),
            (.device(let id), .driftReport), (.device(let id), .modelKeyRequest), (.device(let id), .quotaSync),
            (.device(let id), .usageReport), (.device(let id), .offloadInfer), (.device(let id), .healthSummary):
            return .deviceRequest(deviceID: id, message)
        case (.admin, .createToken), (.admin, .revokeToken), (.admin, .listDevices), (.admin, .listEvents),
            (.admin, .uploadBegin),
            (.admin, .uploadChunk), (.admin, .uploadCommit), (.admin, .pinModel), (.admin, .startRound),
            (.admin, .initModel), (.admin, .referenceStatistics), (.admin, .removeDevice), (.admin, .listGateways),
            (.admin, .grantQuota), (.admin, .createAPIToken), (.admin, .revokeAPIToken), (.admin, .startRollout),
            (.admin, .controlRollout), (.admin, .holdVersion):
            return .adminRequest(message, frameBudget: negotiatedFrameLength)
        case (.admin, .heartbeat):
            return .send(.heartbeatAck)
        case (.awaitingHello, _):
            return fail(.unexpectedMessage, "expected hello, got \(message.type)")
        case (.awaitingCredentials(_, let role), .enrol), (.awaitingCredentials(_, let role), .authenticate),
            (.awaitingCredentials(_, let role), .adminAuthenticate), (.awaitingCredentials(_, let role), .gatewayClaim):
            return fail(.unexpectedMessage, "\(message.type) does not match the role \(role) announced in hello")
        case (.awaitingCredentials, _), (.verifying, _):
            return fail(.notAuthenticated, "\(message.type) before authentication")
        case (.device, _), (.admin, _):
            return fail(.unexpectedMessage, "\(message.type) is not accepted from this peer")
        }
    }

    /// Verification succeeded.
    mutating func welcomed(deviceID: String, labels: [String: String]) -> Action {
        guard case .verifying = state else { return .none }
        state = .device(id: deviceID)
        return .send(.welcome(Welcome(deviceID: deviceID, labels: labels, releasePublicKey: settings.releasePublicKey)))
    }

    mutating func adminWelcomed() -> Action {
        guard case .verifying = state else { return .none }
        state = .admin
        return .send(.welcome(Welcome(deviceID: "admin", labels: [:])))
    }

    /// Verification (or any step) failed with an error that closes the connection.
    mutating func failed(_ error: ErrorMessage) -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .fail(error)
    }

    /// The coordinator cannot take this connection now (a cap on connections in their handshake or on their
    /// bytes, or its source was refused too often): answer `busy` and close. After `welcome` this never applies.
    mutating func busy(_ refusal: HandshakeRefusal) -> Action {
        switch state {
        case .awaitingHello, .awaitingCredentials, .verifying:
            state = .closed
            return .busy(
                Busy(
                    retryAfterMilliseconds: refusal.retryAfterMilliseconds ?? settings.busyRetryAfterMilliseconds,
                    message: refusal.reason
                )
            )
        default:
            return .none
        }
    }

    /// The handshake did not finish in time.
    mutating func handshakeTimedOut() -> Action {
        switch state {
        case .awaitingHello, .awaitingCredentials, .verifying:
            return fail(.handshakeTimeout, "handshake not completed in time")
        default:
            return .none
        }
    }

    mutating func closed() {
        state = .closed
    }

    private mutating func fail(_ code: ErrorCode, _ text: String) -> Action {
        state = .closed
        return .fail(ErrorMessage(code: code, message: text))
    }
}
