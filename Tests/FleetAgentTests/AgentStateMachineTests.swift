import FleetAgent
import FleetWire
import Testing

/// The agent's transitions as tables, after Mender's state tests: each case lists the events that happen
/// (failures and restarts included) and the chain of states and actions the machine must go through.
@Suite struct AgentStateMachineTests {
    typealias Machine = AgentStateMachine

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var enrolled: Bool
        var hasToken: Bool
        var steps: [(Machine.Event, Machine.Action, Machine.State)]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "first start enrols, then goes online",
            enrolled: false,
            hasToken: true,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .enrol, .enrolling(attempt: 1)),
                (.welcomed, .markEnrolled, .online(attempt: 1)),
            ]
        ),
        Case(
            name: "enrolled device authenticates",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 1)),
                (.welcomed, .runSession, .online(attempt: 1)),
            ]
        ),
        Case(
            name: "not enrolled and no token stops with advice",
            enrolled: false,
            hasToken: false,
            steps: [(.start, .stop(.needsToken), .stopped(.needsToken))]
        ),
        Case(
            name: "connection refused backs off with growing attempts",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connectionFailed, .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connectionFailed, .wait(attempt: 3), .waiting(attempt: 3)),
                (.retryTimerFired, .connect, .connecting(attempt: 3)),
                (.connected, .sendHello, .handshaking(attempt: 3)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 3)),
                (.welcomed, .runSession, .online(attempt: 3)),
            ]
        ),
        Case(
            name: "a lost session that was established reconnects from the first attempt",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connectionFailed, .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connected, .sendHello, .handshaking(attempt: 2)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 2)),
                (.welcomed, .runSession, .online(attempt: 2)),
                (.established, .none, .online(attempt: 0)),
                (.disconnected, .wait(attempt: 1), .waiting(attempt: 1)),
                (.retryTimerFired, .connect, .connecting(attempt: 1)),
            ]
        ),
        Case(
            name: "sessions that fail after authenticating, before any useful work, keep backing off",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 1)),
                (.welcomed, .runSession, .online(attempt: 1)),
                (.connectionFailed, .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connected, .sendHello, .handshaking(attempt: 2)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 2)),
                (.welcomed, .runSession, .online(attempt: 2)),
                (.disconnected, .wait(attempt: 3), .waiting(attempt: 3)),
                (.retryTimerFired, .connect, .connecting(attempt: 3)),
                (.connected, .sendHello, .handshaking(attempt: 3)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 3)),
                (.welcomed, .runSession, .online(attempt: 3)),
                (.refused(.unavailable), .wait(attempt: 4), .waiting(attempt: 4)),
            ]
        ),
        Case(
            name: "a first enrolment that fails before any useful work backs off",
            enrolled: false,
            hasToken: true,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .enrol, .enrolling(attempt: 1)),
                (.welcomed, .markEnrolled, .online(attempt: 1)),
                (.connectionFailed, .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connected, .sendHello, .handshaking(attempt: 2)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 2)),
            ]
        ),
        Case(
            name: "used token is permanent",
            enrolled: false,
            hasToken: true,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .enrol, .enrolling(attempt: 1)),
                (.refused(.tokenUsed), .stop(.enrolmentRefused(.tokenUsed)), .stopped(.enrolmentRefused(.tokenUsed))),
                (.retryTimerFired, .none, .stopped(.enrolmentRefused(.tokenUsed))),
            ]
        ),
        Case(
            name: "crash after the coordinator enrolled us: key already enrolled means authenticate",
            enrolled: false,
            hasToken: true,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .enrol, .enrolling(attempt: 1)),
                (.refused(.keyAlreadyEnrolled), .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connected, .sendHello, .handshaking(attempt: 2)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 2)),
            ]
        ),
        Case(
            name: "unknown device stops",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 1)),
                (.refused(.unknownDevice), .stop(.deviceUnknown), .stopped(.deviceUnknown)),
            ]
        ),
        Case(
            name: "coordinator busy during authentication retries",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.helloAccepted, .authenticate, .authenticating(attempt: 1)),
                (.refused(.unavailable), .wait(attempt: 2), .waiting(attempt: 2)),
            ]
        ),
        Case(
            name: "no common version stops",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.refused(.unsupportedVersion), .stop(.incompatible), .stopped(.incompatible)),
            ]
        ),
        Case(
            name: "shutdown while waiting",
            enrolled: true,
            hasToken: false,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connectionFailed, .wait(attempt: 2), .waiting(attempt: 2)),
                (.shutdown, .stop(.shutdown), .stopped(.shutdown)),
            ]
        ),
        Case(
            name: "disconnect in the middle of the handshake retries",
            enrolled: false,
            hasToken: true,
            steps: [
                (.start, .connect, .connecting(attempt: 1)),
                (.connected, .sendHello, .handshaking(attempt: 1)),
                (.disconnected, .wait(attempt: 2), .waiting(attempt: 2)),
                (.retryTimerFired, .connect, .connecting(attempt: 2)),
                (.connected, .sendHello, .handshaking(attempt: 2)),
                (.helloAccepted, .enrol, .enrolling(attempt: 2)),
            ]
        ),
    ]

    @Test(arguments: cases)
    func transitions(_ testCase: Case) {
        var machine = Machine(enrolled: testCase.enrolled, hasToken: testCase.hasToken)
        for (index, (event, action, state)) in testCase.steps.enumerated() {
            let actual = machine.handle(event)
            #expect(actual == action, "step \(index): \(event)")
            #expect(machine.state == state, "step \(index): \(event)")
        }
    }

    @Test func restartAfterEnrolmentAuthenticates() {
        // A reboot rebuilds the machine from persisted state: enrolled, no token needed any more.
        var machine = Machine(enrolled: true, hasToken: false)
        #expect(machine.handle(.start) == .connect)
        #expect(machine.handle(.connected) == .sendHello)
        #expect(machine.handle(.helloAccepted) == .authenticate)
    }
}

@Suite struct BackoffTests {
    @Test func growsExponentiallyUpToTheCap() {
        let backoff = Backoff(base: .milliseconds(500), maximum: .seconds(30), jitter: 0.5)
        #expect(backoff.delay(attempt: 1, unit: 0) == .milliseconds(500))
        #expect(backoff.delay(attempt: 2, unit: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 4, unit: 0) == .seconds(4))
        #expect(backoff.delay(attempt: 20, unit: 0) == .seconds(30))
    }

    @Test func jitterShortensByUpToItsFraction() {
        let backoff = Backoff(base: .seconds(2), maximum: .seconds(30), jitter: 0.5)
        #expect(backoff.delay(attempt: 1, unit: 1) == .seconds(1))
        #expect(backoff.delay(attempt: 1, unit: 0.5) == .milliseconds(1500))
        for unit in stride(from: 0.0, through: 1.0, by: 0.1) {
            let delay = backoff.delay(attempt: 3, unit: unit)
            #expect(delay >= .seconds(4) && delay <= .seconds(8))
        }
    }
}

@Suite struct CapabilityTests {
    @Test func sizesParse() {
        #expect(CapabilityProbe.parseSize("48MiB") == 48 << 20)
        #expect(CapabilityProbe.parseSize("2GB") == 2_000_000_000)
        #expect(CapabilityProbe.parseSize("1024") == 1024)
        #expect(CapabilityProbe.parseSize("lots") == nil)
        #expect(CapabilityProbe.normalise(key: "ram", value: "64MiB") == "67108864")
        #expect(CapabilityProbe.normalise(key: "accelerator", value: "npu") == "npu")
    }

    @Test func detectsTheBasics() {
        let detected = CapabilityProbe.detect(dataDirectory: "/tmp")
        #expect(detected["arch"]?.isEmpty == false)
        #expect(UInt64(detected["ram"] ?? "") ?? 0 > 0)
    }
}
