import FleetWire
import Foundation
import Testing

@testable import FleetCoordinator

/// A device's `goodbye` (SPEC 5.11a): accepted only after authentication, and offline at once.
@Suite struct GoodbyeTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func goodbyeMarksTheDeviceOfflineAtOnceUnlessAnotherConnectionIsOpen() {
        let tracker = PresenceTracker(offlineTimeout: 30)
        tracker.connected("a", at: start)
        tracker.connected("b", at: start)
        tracker.connected("b", at: start.addingTimeInterval(1))  // b reconnected before its old connection closed
        _ = tracker.drain()
        tracker.leftGracefully("a", at: start.addingTimeInterval(2))
        tracker.leftGracefully("b", at: start.addingTimeInterval(2))
        let changes = tracker.drain().statusChanges
        #expect(
            changes == [
                .init(
                    deviceID: "a",
                    online: false,
                    at: start.addingTimeInterval(2),
                    detail: "goodbye: the agent stopped",
                    heardUntil: start.addingTimeInterval(2)
                )
            ]
        )
        #expect(!tracker.isOnline("a") && tracker.isOnline("b"))
        // A later sweep does not report it again.
        tracker.sweep(now: start.addingTimeInterval(60))
        #expect(tracker.drain().statusChanges.map(\.deviceID) == ["b"])
    }

    @Test func onlyAnAuthenticatedDeviceMaySayGoodbye() {
        let settings = SessionStateMachine.Settings(
            maximumFrameLength: 1 << 20,
            heartbeatIntervalMilliseconds: 10_000,
            offlineTimeoutMilliseconds: 30_000
        )
        let nonce = [UInt8](repeating: 9, count: 32)
        let hello = Message.hello(
            Hello(minimumVersion: 1, maximumVersion: 1, role: .device, software: "t", maximumFrameLength: 1 << 20)
        )
        var device = SessionStateMachine(settings: settings)
        _ = device.receive(hello, nonce: { nonce }, now: 1000)
        guard case .fail(let early) = device.receive(.goodbye, nonce: { nonce }, now: 1000) else {
            Issue.record("goodbye before authentication must fail")
            return
        }
        #expect(early.code == .notAuthenticated)

        var authenticated = SessionStateMachine(settings: settings)
        _ = authenticated.receive(hello, nonce: { nonce }, now: 1000)
        let credentials = Authenticate(deviceID: "d-1", nonce: nonce, signature: Array(repeating: 0, count: 64))
        _ = authenticated.receive(.authenticate(credentials), nonce: { nonce }, now: 1000)
        _ = authenticated.welcomed(deviceID: "d-1", labels: [:])
        #expect(authenticated.receive(.goodbye, nonce: { nonce }, now: 1000) == .goodbye(deviceID: "d-1"))
        #expect(authenticated.deviceID == "d-1", "the connection's clean-up still knows the device")
    }
}
