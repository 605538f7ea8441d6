import FleetStore
import Hummingbird

/// `GET /`: the fleet. Devices counted by status, region and the model version/variant they run; the devices no
/// variant of a model fits, with why; then the devices (a page of `limit`, 200 by default, `after` an id), with
/// their status, region, what they run and when they were last seen.
enum FleetPage {
    static func load(_ query: APIQuery, in store: CoordinatorStore) async throws -> ConsolePage {
        let counts = try await store.deviceCounts(label: DriftAssessor.regionLabel)
        let page = try await devicePage(query, in: store)
        var body = HTML()
        body.paragraph("\(counts.total) devices, \(counts.byStatus[.online] ?? 0) online")
        body.raw("<div style=\"display:flex;gap:2em;flex-wrap:wrap\"><section>")
        body.heading("By status")
        table(counts.byStatus.map { status, devices in (status.rawValue, devices) }, header: "status", into: &body)
        body.raw("</section><section>")
        body.heading("By region")
        let regions = counts.byLabel.map { region, devices in
            (DriftAssessor.region(labels: region.map { [DriftAssessor.regionLabel: $0] }), devices)
        }
        table(regions, header: "region", into: &body)
        body.raw("</section><section>")
        body.heading("By model version and variant")
        let versions = counts.byInstalledModel.map { model, devices in
            ("\(model.name) v\(model.version) \(model.variant)", devices)
        }
        table(versions, header: "runs", into: &body)
        body.raw("</section></div>")
        try await models(in: store, into: &body)
        try await unfit(in: store, into: &body)
        body.heading("Devices")
        body.table(
            ["name", "status", "region", "runs", "last seen"],
            page.devices.map { device in
                [
                    .link(device.name, href: href(device)),
                    status(device.status),
                    .text(DriftAssessor.region(labels: device.labels)),
                    .text(device.installedModels.map(running).joined(separator: ", ")),
                    .text(device.lastSeen ?? "never"),
                ]
            }
        )
        if let next = page.next { body.link("next \(page.devices.count) devices", to: next) }
        return ConsolePage(title: "Fleet", body: body)
    }

    /// A page of the devices (ordered by name, then id) read from the store, and the path of the next page.
    private static func devicePage(
        _ query: APIQuery,
        in store: CoordinatorStore
    ) async throws -> (devices: [DeviceView], next: String?) {
        let limit = try query.limit(default: 200, maximum: 1000)
        let after = try query.cursor("after")
        guard var records = try await store.devices(after: after, limit: limit + 1) else {
            throw HTTPError(
                .badRequest,
                message: "after: nothing listed as \(after ?? "") (removed since?): start again without after"
            )
        }
        let more = records.count > limit
        records = Array(records.prefix(limit))
        let next = more ? records.last.map { "/?limit=\(limit)&after=\(APIQuery.escaped($0.id))" } : nil
        return (records.map(DeviceView.init(record:)), next)
    }

    /// The models in the registry, each linked to its page.
    private static func models(in store: CoordinatorStore, into body: inout HTML) async throws {
        let models = try await ModelSummaryView.all(in: store)
        body.heading("Models")
        guard !models.isEmpty else { return body.paragraph("none pushed yet (`fleetctl model push`)") }
        body.table(
            ["model", "latest", "versions", "variants", "devices assigned"],
            models.map {
                [
                    .link($0.name, href: ModelPage.href($0.name)), .text("v\($0.latestVersion)"),
                    .text(String($0.versions.count)), .text($0.variants.joined(separator: ", ")),
                    .text(String($0.devices)),
                ]
            }
        )
    }

    /// The devices some model has no variant for (their assignment names no version), with the reason.
    private static func unfit(in store: CoordinatorStore, into body: inout HTML) async throws {
        var unfit: [(model: String, assignment: ModelAssignment)] = []
        for model in try await ModelSummaryView.all(in: store) {
            for assignment in try await store.unfitAssignments(model: model.name) {
                unfit.append((model.name, assignment))
            }
        }
        let named = try await store.devices(ids: unfit.map(\.assignment.deviceID)).map(DeviceView.init(record:))
        let byID = Dictionary(named.map { ($0.id, $0) }) { first, _ in first }
        let rows: [[HTML.Cell]] = unfit.map { model, assignment in
            let device = byID[assignment.deviceID]
            return [
                device.map { .link($0.name, href: href($0)) } ?? .text(assignment.deviceID),
                .text(model),
                .text(assignment.reason),
            ]
        }
        body.heading("Fitting no variant (\(rows.count))")
        if rows.isEmpty { return body.paragraph("every device fits a variant of each model assigned to it") }
        body.table(["device", "model", "why"], rows)
    }

    /// A table of counts, one row per name (counts of the same name added, zero counts left out), sorted by name.
    private static func table(_ counted: [(String, Int)], header: String, into body: inout HTML) {
        let merged = Dictionary(counted, uniquingKeysWith: +).filter { $0.value > 0 }.sorted { $0.key < $1.key }
        guard !merged.isEmpty else { return body.paragraph("none") }
        body.table([header, "devices"], merged.map { [.text($0.key), .text(String($0.value))] })
    }

    /// "digits-mlp v2 fp32".
    static func running(_ model: DeviceView.ModelView) -> String { "\(model.name) v\(model.version) \(model.variant)" }

    static func href(_ device: DeviceView) -> String { "/devices/" + APIQuery.escaped(device.id) }

    /// The status, marked for its colour.
    static func status(_ status: String) -> HTML.Cell {
        var html = HTML()
        html.element("span", status, attributes: [("class", status)])
        return .markup(html)
    }
}
