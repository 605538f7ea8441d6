import FleetStore

/// `GET /`: the fleet. Devices counted by status, region and the model version/variant they run; the devices no
/// variant of a model fits, with why; then the devices (a page of `limit`, 200 by default, `after` an id), with
/// their status, region, what they run and when they were last seen.
enum FleetPage {
    static func load(_ query: APIQuery, in store: CoordinatorStore) async throws -> ConsolePage {
        let devices = try await DeviceView.all(in: store)
        let page = try APIPage(devices, key: \.id, query: query, path: "/", defaultLimit: 200, maximumLimit: 1000)
        var body = HTML()
        body.paragraph("\(devices.count) devices, \(devices.filter { $0.status == "online" }.count) online")
        body.raw("<div style=\"display:flex;gap:2em;flex-wrap:wrap\"><section>")
        body.heading("By status")
        counts(devices.map(\.status), header: "status", into: &body)
        body.raw("</section><section>")
        body.heading("By region")
        counts(devices.map { DriftAssessor.region(labels: $0.labels) }, header: "region", into: &body)
        body.raw("</section><section>")
        body.heading("By model version and variant")
        counts(devices.flatMap { $0.installedModels.map(running) }, header: "runs", into: &body)
        body.raw("</section></div>")
        try await models(in: store, into: &body)
        try await unfit(devices, in: store, into: &body)
        body.heading("Devices")
        body.table(
            ["name", "status", "region", "runs", "last seen"],
            page.items.map { device in
                [
                    .link(device.name, href: href(device)),
                    status(device.status),
                    .text(DriftAssessor.region(labels: device.labels)),
                    .text(device.installedModels.map(running).joined(separator: ", ")),
                    .text(device.lastSeen ?? "never"),
                ]
            }
        )
        if let next = page.next { body.link("next \(page.items.count) devices", to: next) }
        return ConsolePage(title: "Fleet", body: body)
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
    private static func unfit(_ devices: [DeviceView], in store: CoordinatorStore, into body: inout HTML) async throws {
        let byID = Dictionary(devices.map { ($0.id, $0) }) { first, _ in first }
        var rows: [[HTML.Cell]] = []
        for model in try await ModelSummaryView.all(in: store) {
            for assignment in try await store.assignments(model: model.name) where assignment.version == nil {
                let device = byID[assignment.deviceID]
                rows.append([
                    device.map { .link($0.name, href: href($0)) } ?? .text(assignment.deviceID),
                    .text(model.name),
                    .text(assignment.reason),
                ])
            }
        }
        body.heading("Fitting no variant (\(rows.count))")
        if rows.isEmpty { return body.paragraph("every device fits a variant of each model assigned to it") }
        body.table(["device", "model", "why"], rows)
    }

    private static func counts(_ values: [String], header: String, into body: inout HTML) {
        let counted = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +).sorted { $0.key < $1.key }
        guard !counted.isEmpty else { return body.paragraph("none") }
        body.table([header, "devices"], counted.map { [.text($0.key), .text(String($0.value))] })
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
