import FleetWire
import Testing

@testable import FleetCoordinator

@Suite struct SessionStateMachineTests {
    let settings = SessionStateMachine.Settings(
        maximumFrameLength: 1 << 20,
        heartbeatIntervalMilliseconds: 10_000,
        offlineTimeoutMilliseconds: 30_000
    )
    let nonce = [UInt8](repeating: 9, count: 32)

    func hello(role: PeerRole = .device, versions: ClosedRange<Int> = 1...1, frame: Int = 1 << 20) -> Message {
        .hello(
            Hello(
                minimumVersion: versions.lowerBound,
                maximumVersion: versions.upperBound,
                role: role,
                software: "t",
                maximumFrameLength: frame
            )
        )
    }

    func receive(_ machine: inout SessionStateMachine, _ message: Message) -> SessionStateMachine.Action {
        machine.receive(message, nonce: { nonce }, now: 1000)
    }

    @Test func deviceHandshakeThenHeartbeats() {
        var machine = SessionStateMachine(settings: settings)
        guard case .send(.helloAccept(let accept)) = receive(&machine, hello()) else {
            Issue.record("expected helloAccept")
            return
        }
        #expect(accept.nonce == nonce)
        #expect(accept.offlineTimeoutMilliseconds == 30_000)
        #expect(machine.state == .awaitingCredentials(nonce: nonce, role: .device))

        let authenticate = Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64))
        #expect(receive(&machine, .authenticate(authenticate)) == .verifyDevice(authenticate, nonce: nonce))
        #expect(
            machine.welcomed(deviceID: "d-1", labels: [:]) == .send(.welcome(Welcome(deviceID: "d-1", labels: [:])))
        )
        #expect(receive(&machine, .heartbeat) == .heartbeat(deviceID: "d-1"))
        #expect(machine.deviceID == "d-1")
    }

    @Test func negotiatesTheSmallerFrameLimitButNeverBelow1KiB() {
        var machine = SessionStateMachine(settings: settings)
        guard case .send(.helloAccept(let accept)) = receive(&machine, hello(frame: 4096)) else {
            Issue.record("expected helloAccept")
            return
        }
        #expect(accept.maximumFrameLength == 4096)
        var tiny = SessionStateMachine(settings: settings)
        guard case .send(.helloAccept(let small)) = receive(&tiny, hello(frame: 10)) else {
            Issue.record("expected helloAccept")
            return
        }
        #expect(small.maximumFrameLength == 1024)
    }

    @Test func noCommonVersionIsRefused() {
        var machine = SessionStateMachine(settings: settings)
        guard case .fail(let error) = receive(&machine, hello(versions: 3...5)) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .unsupportedVersion)
        #expect(machine.state == .closed)
    }

    @Test func replayedNonceIsRefusedBeforeAnyLookup() {
        var machine = SessionStateMachine(settings: settings)
        _ = receive(&machine, hello())
        let stale = Authenticate(
            deviceID: "d-1",
            nonce: Array(repeating: 1, count: 32),
            signature: Array(repeating: 0, count: 64)
        )
        guard case .fail(let error) = receive(&machine, .authenticate(stale)) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .replayedNonce)
    }

    @Test func messagesBeforeAuthenticationCloseTheConnection() {
        var machine = SessionStateMachine(settings: settings)
        _ = receive(&machine, hello())
        guard case .fail(let error) = receive(&machine, .heartbeat) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .notAuthenticated)
        #expect(receive(&machine, .heartbeat) == SessionStateMachine.Action.none)
    }

    @Test func firstMessageMustBeHello() {
        var machine = SessionStateMachine(settings: settings)
        guard case .fail(let error) = receive(&machine, .heartbeat) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .unexpectedMessage)
    }

    @Test func roleMustMatchCredentials() {
        var device = SessionStateMachine(settings: settings)
        _ = receive(&device, hello(role: .device))
        guard
            case .fail(let error) = receive(
                &device,
                .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: Array(repeating: 0, count: 32)))
            )
        else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .unexpectedMessage)
    }

    @Test func devicesCannotRunAdminRequests() {
        var machine = SessionStateMachine(settings: settings)
        _ = receive(&machine, hello())
        _ = receive(
            &machine,
            .authenticate(Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64)))
        )
        _ = machine.welcomed(deviceID: "d-1", labels: [:])
        guard case .fail(let error) = receive(&machine, .listDevices(ListDevices(requestID: 1, offset: 0, limit: 10)))
        else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .unexpectedMessage)
    }

    @Test func adminRequestsCarryTheNegotiatedBudget() {
        var machine = SessionStateMachine(settings: settings)
        _ = receive(&machine, hello(role: .admin, frame: 8192))
        _ = receive(
            &machine,
            .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: Array(repeating: 0, count: 32)))
        )
        _ = machine.adminWelcomed()
        let request = Message.listDevices(ListDevices(requestID: 1, offset: 0, limit: 10))
        #expect(receive(&machine, request) == .adminRequest(request, frameBudget: 8192))
    }

    @Test func requestIDZeroIsRefusedAfterAuthentication() {
        var device = SessionStateMachine(settings: settings)
        _ = receive(&device, hello())
        _ = receive(
            &device,
            .authenticate(Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64)))
        )
        _ = device.welcomed(deviceID: "d-1", labels: [:])
        #expect(receive(&device, .heartbeat) == .heartbeat(deviceID: "d-1"), "messages without an id are fine")
        let report = StateReport(requestID: 0, software: "t", capabilities: [:], installedModels: [])
        guard case .fail(let error) = receive(&device, .stateReport(report)) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .malformedMessage)
        #expect(error.requestID == 0)
        #expect(receive(&device, .heartbeat) == .none, "the connection is over")

        var admin = SessionStateMachine(settings: settings)
        _ = receive(&admin, hello(role: .admin))
        _ = receive(&admin, .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: Array(repeating: 0, count: 32))))
        _ = admin.adminWelcomed()
        guard case .fail = receive(&admin, .listDevices(ListDevices(requestID: 0, offset: 0, limit: 10))) else {
            Issue.record("expected failure")
            return
        }
    }

    @Test func handshakeTimeoutOnlyBeforeWelcome() {
        var waiting = SessionStateMachine(settings: settings)
        _ = receive(&waiting, hello())
        guard case .fail(let error) = waiting.handshakeTimedOut() else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .handshakeTimeout)

        var done = SessionStateMachine(settings: settings)
        _ = receive(&done, hello())
        _ = receive(
            &done,
            .authenticate(Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64)))
        )
        _ = done.welcomed(deviceID: "d-1", labels: [:])
        #expect(done.handshakeTimedOut() == SessionStateMachine.Action.none)
    }

    @Test func busyOnlyBeforeWelcomeWithTheConfiguredOrTheGivenWait() {
        var custom = settings
        custom.busyRetryAfterMilliseconds = 2500
        var fresh = SessionStateMachine(settings: custom)
        #expect(
            fresh.busy(HandshakeRefusal(reason: "full"))
                == .busy(Busy(retryAfterMilliseconds: 2500, message: "full"))
        )
        #expect(fresh.state == .closed)
        #expect(receive(&fresh, hello()) == SessionStateMachine.Action.none, "nothing more is served")

        var verifying = SessionStateMachine(settings: custom)
        _ = receive(&verifying, hello(role: .admin))
        _ = receive(
            &verifying,
            .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: Array(repeating: 0, count: 32)))
        )
        #expect(
            verifying.busy(HandshakeRefusal(reason: "limited", retryAfterMilliseconds: 42_000))
                == .busy(Busy(retryAfterMilliseconds: 42_000, message: "limited"))
        )

        var welcomed = SessionStateMachine(settings: custom)
        _ = receive(&welcomed, hello(role: .admin))
        _ = receive(
            &welcomed,
            .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: Array(repeating: 0, count: 32)))
        )
        _ = welcomed.adminWelcomed()
        #expect(welcomed.busy(HandshakeRefusal(reason: "full")) == SessionStateMachine.Action.none)
        #expect(welcomed.state == .admin)
    }

    @Test func speaksVersionTwoAndStillAcceptsVersionOne() {
        var current = SessionStateMachine(settings: settings)
        guard case .send(.helloAccept(let two)) = receive(&current, hello(versions: 1...2)) else {
            Issue.record("expected helloAccept")
            return
        }
        #expect(two.version == 2)
        var old = SessionStateMachine(settings: settings)
        guard case .send(.helloAccept(let one)) = receive(&old, hello(versions: 1...1)) else {
            Issue.record("expected helloAccept")
            return
        }
        #expect(one.version == 1)
    }
}
