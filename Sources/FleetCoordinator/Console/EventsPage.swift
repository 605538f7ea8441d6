import FleetStore
import Hummingbird

/// `GET /events[?device=ID|NAME][&kind=KIND][&limit=N]`: the newest events (100 by default, at most 1000), newest
/// first; each device and kind links to the log filtered by it.
enum EventsPage {
    static func load(_ query: APIQuery, in store: CoordinatorStore) async throws -> ConsolePage {
        let limit = try query.limit(default: 100, maximum: 1000)
        let kind = try query.cursor("kind")
        var device: DeviceView?
        if let wanted = try query.cursor("device") {
            device = try await DeviceView.named(wanted, in: store)
            guard device != nil else {
                throw HTTPError(.notFound, message: "no device \"\(wanted)\": the fleet page (/) lists them")
            }
        }
        let events = try await store.events(deviceID: device?.id, kind: kind, limit: limit, afterSequence: nil)
        var names: [String: String] = [:]
        for device in try await store.devices(ids: events.compactMap(\.deviceID)) { names[device.id] = device.name }
        var body = HTML()
        let filters = [device.map { "device \($0.name)" }, kind.map { "kind \($0)" }].compactMap { $0 }
        body.raw("<p>")
        body.text(
            "The newest \(events.count) events"
                + (filters.isEmpty ? "" : " of " + filters.joined(separator: " and ")) + ", newest first. "
        )
        if !filters.isEmpty { body.link("every event", to: "/events") }
        body.raw("</p>")
        table(events.reversed().map(EventView.init(record:)), names: names, into: &body)
        return ConsolePage(title: "Events", body: body)
    }

    /// Events as rows: sequence, time, device (linked to its events), kind (linked to its events), detail.
    static func table(_ events: [EventView], names: [String: String], into body: inout HTML) {
        guard !events.isEmpty else { return body.paragraph("no events") }
        body.table(
            ["#", "at", "device", "kind", "detail"],
            events.map { event in
                [
                    .text(String(event.sequence)), .text(event.at),
                    event.device.map {
                        .link(names[$0] ?? $0, href: "/events?device=\(APIQuery.escaped($0))")
                    } ?? .text("fleet"),
                    .link(event.kind, href: "/events?kind=\(APIQuery.escaped(event.kind))"),
                    .text(event.detail),
                ]
            }
        )
    }
}
