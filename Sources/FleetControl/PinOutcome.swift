import FleetCoordinator
import Foundation

/// What `fleetctl model pin` achieved: each targeted device's answer, as its agent reported it.
public struct PinOutcomeView: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int
    public var rollback: Bool
    public var devices: [Entry]

    public struct Entry: Codable, Sendable, Equatable {
        public var device: String
        public var name: String
        /// `runs` (the device runs the pinned version), `refused` or `failed` (its agent refused or failed the
        /// install; `detail` says why), `offline` (it gets the pin when it reconnects), `no-answer` (nothing
        /// within `--wait`).
        public var outcome: String
        public var detail: String?
    }

    /// Devices that answered: none of them runs the pinned version, and at least one refused or failed it.
    public var nobodyAccepted: Bool {
        !devices.contains { $0.outcome == "runs" }
            && devices.contains { $0.outcome == "refused" || $0.outcome == "failed" }
    }
}

extension FleetInspector {
    /// Pins `model` to `version` for one device (id or name) or every device, then waits up to `wait` for the
    /// online devices concerned (that one, or every device that has the model) to run it or refuse it.
    public func pinAndWatch(
        model: String,
        version: Int,
        device: String?,
        rollback: Bool,
        wait: Duration
    ) async throws -> PinOutcomeView {
        let before = try await devices()
        var target: DeviceView?
        if let device { target = try await resolveDevice(device, among: before) }
        let since = try await events(deviceID: nil, limit: 1).last?.sequence ?? 0
        try await pin(model: model, version: version, deviceID: target?.id, rollback: rollback)
        let concerned = target.map { [$0] } ?? before.filter { $0.installedModels.contains { $0.name == model } }
        var outcomes: [String: PinOutcomeView.Entry] = [:]
        let deadline = ContinuousClock.now + wait
        while true {
            let current = try await devices()
            let answers = try await events(deviceID: target?.id, limit: 10_000, afterSequence: since)
            for device in concerned where outcomes[device.id] == nil {
                let now = current.first { $0.id == device.id } ?? device
                outcomes[device.id] = Self.answer(of: now, model: model, version: version, events: answers)
            }
            if outcomes.count == concerned.count || ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return PinOutcomeView(
            model: model,
            version: version,
            rollback: rollback,
            devices: concerned.map {
                outcomes[$0.id] ?? .init(device: $0.id, name: $0.name, outcome: "no-answer", detail: nil)
            }
        )
    }

    /// The device's answer so far, or nil while it is online and has not answered.
    private static func answer(
        of device: DeviceView,
        model: String,
        version: Int,
        events: [EventView]
    ) -> PinOutcomeView.Entry? {
        func entry(_ outcome: String, _ detail: String? = nil) -> PinOutcomeView.Entry {
            .init(device: device.id, name: device.name, outcome: outcome, detail: detail)
        }
        if device.installedModels.contains(where: { $0.name == model && $0.version == version }) {
            return entry("runs")
        }
        let prefix = "\(model) v\(version) "
        if let event = events.last(where: {
            $0.device == device.id && ($0.kind == "install_refused" || $0.kind == "install_failed")
                && $0.detail.hasPrefix(prefix)
        }) {
            return entry(event.kind == "install_refused" ? "refused" : "failed", event.detail)
        }
        return device.status == "online" ? nil : entry("offline")
    }
}
