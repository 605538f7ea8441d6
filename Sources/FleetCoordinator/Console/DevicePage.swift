import FleetStore
import Hummingbird

/// `GET /devices/{id or name}`: a device's identity, labels and capabilities, what it runs and should run (and
/// why), its latest transfers, its consent and its latest events.
enum DevicePage {
    static let recent = 20

    static func load(_ idOrName: String, in store: CoordinatorStore) async throws -> ConsolePage {
        guard let device = try await DeviceView.named(idOrName, in: store) else {
            throw HTTPError(.notFound, message: "no device \"\(idOrName.prefix(64))\": the fleet page (/) lists them")
        }
        var body = HTML()
        body.heading("Identity")
        body.definitions(
            [
                ("id", device.id), ("name", device.name), ("status", device.status),
                ("last seen", device.lastSeen ?? "never"), ("enrolled", device.enrolledAt),
                ("agent", device.agentVersion),
            ] + (device.gatewayLabel.map { [("gateway", $0)] } ?? [])
        )
        body.heading("Labels")
        body.definitions(device.labels.sorted { $0.key < $1.key })
        body.heading("Capabilities")
        body.definitions(device.capabilities.sorted { $0.key < $1.key })
        try await models(device, in: store, into: &body)
        try await transfers(device, in: store, into: &body)
        try await consent(device, in: store, into: &body)
        body.heading("Latest events")
        let events = try await store.events(deviceID: device.id, limit: recent, afterSequence: nil)
        EventsPage.table(events.reversed().map(EventView.init(record:)), names: [device.id: device.name], into: &body)
        body.link("every event of \(device.name)", to: "/events?device=\(APIQuery.escaped(device.id))")
        return ConsolePage(title: device.name, body: body)
    }

    /// Per model: the version and variant installed, the one assigned, and the assignment's reason.
    private static func models(_ device: DeviceView, in store: CoordinatorStore, into body: inout HTML) async throws {
        let assignments = try await store.assignments(deviceID: device.id)
        let names = Set(device.installedModels.map(\.name)).union(assignments.map(\.model)).sorted()
        body.heading("Models")
        guard !names.isEmpty else { return body.paragraph("none installed or assigned") }
        body.table(
            ["model", "runs", "should run", "why"],
            names.map { name in
                let installed = device.installedModels.first { $0.name == name }
                let assignment = assignments.first { $0.model == name }
                let target: String? = assignment.map { assignment in
                    if let version = assignment.version, let variant = assignment.variant {
                        return "v\(version) \(variant)"
                    }
                    return "no variant fits"
                }
                return [
                    .text(name), .text(installed.map { "v\($0.version) \($0.variant)" } ?? "nothing"),
                    .text(target ?? "not assigned"), .text(assignment?.reason ?? ""),
                ]
            }
        )
    }

    private static func transfers(_ device: DeviceView, in store: CoordinatorStore, into body: inout HTML) async throws
    {
        let transfers = try await store.transfers(deviceID: device.id, model: nil).suffix(recent)
        body.heading("Latest transfers")
        guard !transfers.isEmpty else { return body.paragraph("none") }
        body.table(
            ["completed", "model", "encoding", "bytes sent", "full size", "resumed from"],
            transfers.reversed().map {
                [
                    .text(ISO8601.string($0.completedAt)), .text("\($0.model) v\($0.version) \($0.variant)"),
                    .text($0.encoding + ($0.baseVersion.map { " from v\($0)" } ?? "")), .text(String($0.wireBytes)),
                    .text(String($0.fullBytes)), .text(String($0.resumedFrom)),
                ]
            }
        )
    }

    private static func consent(_ device: DeviceView, in store: CoordinatorStore, into body: inout HTML) async throws {
        let records = try await store.device(id: device.id).map { [$0] } ?? []
        body.heading("Consent")
        guard let consent = try await ConsentView.all(of: records, in: store).first else {
            return body.paragraph("none")
        }
        body.definitions(consent.consent.sorted { $0.key < $1.key } + [("samples held", String(consent.samples))])
    }
}
