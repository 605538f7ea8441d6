import FleetStore
import Hummingbird

/// `GET /drift[?model=NAME]`: the drift of a model's newest version with reference statistics (the first such model
/// when none is named): a heatmap of each feature's PSI per region (the same PSI `fleetctl drift --by region` names
/// as a region's worst feature), the same values as a table, and the devices that drift most.
enum DriftPage {
    static let worstDevices = 10
    /// The heatmap's scale ends at 0.5: past 0.25 is commonly read as a major shift.
    static let scaleMaximum = 0.5

    static func load(_ query: APIQuery, in store: CoordinatorStore) async throws -> ConsolePage {
        let models = try await ModelSummaryView.all(in: store).map(\.name)
        let assessor = DriftAssessor(store: store)
        var body = HTML()
        var assessment: DriftAssessment?
        if let wanted = try query.cursor("model") {
            guard models.contains(wanted) else {
                throw HTTPError(.notFound, message: "no model \"\(wanted)\": the fleet page (/) lists them")
            }
            assessment = try await assessor.assess(model: wanted)
            if assessment == nil {
                body.paragraph("\(wanted) has no reference statistics: push a version with `--reference-data`")
            }
        } else {
            for model in models where assessment == nil { assessment = try await assessor.assess(model: model) }
            if assessment == nil { body.paragraph("no model has reference statistics (`--reference-data`)") }
        }
        if models.count > 1 {
            body.raw("<p>Models: ")
            for model in models {
                body.link(model, to: "/drift?model=\(APIQuery.escaped(model))")
                body.raw(" ")
            }
            body.raw("</p>")
        }
        guard let assessment else { return ConsolePage(title: "Drift", body: body) }
        let devices = Dictionary(try await store.devices().map { ($0.id, $0) }) { first, _ in first }
        body.paragraph(
            "\(assessment.model) v\(assessment.version): PSI of each input feature per region, from the devices' "
                + "latest drift reports (\(assessment.devices.count) devices with enough samples)."
        )
        regions(assessment, into: &body)
        body.heading("Devices drifting most")
        let worst = DriftView.views(of: assessment, by: nil, devices: devices).sorted {
            ($0.psi, $1.name ?? "") > ($1.psi, $0.name ?? "")
        }.prefix(worstDevices)
        guard !worst.isEmpty else {
            body.paragraph("no device has reported enough samples yet")
            return ConsolePage(title: "Drift of \(assessment.model)", body: body)
        }
        body.table(
            ["device", "region", "drifted", "median PSI", "worst feature", "its PSI", "samples"],
            worst.map { view in
                [
                    .link(view.name ?? view.device ?? "?", href: "/devices/\(APIQuery.escaped(view.device ?? ""))"),
                    .text(view.region ?? "-"), .text(view.drifted ? "yes" : "no"), .text(String(view.psi)),
                    .text(view.worstFeature ?? "-"), .text(view.worstFeaturePSI.map { String($0) } ?? "-"),
                    .text(String(view.samples)),
                ]
            }
        )
        return ConsolePage(title: "Drift of \(assessment.model)", body: body)
    }

    /// The region × feature heatmap, and the same values as a table for readers without SVG.
    private static func regions(_ assessment: DriftAssessment, into body: inout HTML) {
        body.heading("PSI by region and feature")
        let regions = assessment.regions
        guard let features = regions.first?.report.features.indices else {
            return body.paragraph("no region has reported enough samples yet")
        }
        let names = features.map { assessment.package.featureName($0) }
        let values = regions.map { region in
            features.map { index in
                index < region.report.features.count ? DriftView.rounded(region.report.features[index].psi) : nil
            }
        }
        body.append(
            Heatmap(
                caption: "\(assessment.model) v\(assessment.version): PSI by region and feature",
                rows: regions.map(\.scope),
                columns: names,
                values: values,
                maximum: scaleMaximum,
                ticks: [0, 0.1, 0.25, scaleMaximum]
            ).html
        )
        body.paragraph("The same values as a table:")
        body.table(
            ["feature"] + regions.map(\.scope),
            names.indices.map { index in
                [.text(names[index])] + values.map { .text($0[index].map { String($0) } ?? "-") }
            }
        )
    }
}
