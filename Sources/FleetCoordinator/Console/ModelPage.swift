import FleetStore
import Hummingbird

/// `GET /models/{name}`: a model's versions and variants (size, accuracy, when pushed), the delivery of each
/// (devices assigned, running it, failed), and the bytes its transfers sent against full transfers (what deltas
/// saved).
enum ModelPage {
    static func load(_ name: String, in store: CoordinatorStore) async throws -> ConsolePage {
        guard name.utf8.count <= DeviceView.maximumIdOrNameLength,
            let delivery = try await ModelDeliveryView.load(name, in: store)
        else {
            throw HTTPError(.notFound, message: "no model \"\(name.prefix(64))\": the fleet page (/) lists them")
        }
        var body = HTML()
        let sent = delivery.variants.reduce(0) { $0 + $1.bytesSent }
        let full = delivery.variants.reduce(0) { $0 + $1.fullBytes }
        body.paragraph(
            "\(Set(delivery.variants.map(\.version)).count) versions, \(delivery.variants.count) files (version and variant); "
                + "\(delivery.unfit) devices fit no variant. Transfers sent \(sent) bytes where full transfers "
                + "would have sent \(full): \(max(0, full - sent)) bytes saved."
        )
        body.heading("Versions and delivery")
        body.table(
            [
                "version", "variant", "size", "accuracy", "pushed", "assigned", "installed", "failed", "transfers",
                "deltas", "bytes sent", "full size", "bytes saved",
            ],
            delivery.variants.map { variant in
                [
                    .text("v\(variant.version)"), .text(variant.variant), .text(String(variant.size)),
                    .text(variant.accuracy.map { String(DriftView.rounded($0)) } ?? "-"), .text(variant.pushedAt),
                    .text(String(variant.assigned)), .text(String(variant.installed)), .text(String(variant.failed)),
                    .text(String(variant.transfers)), .text(String(variant.deltaTransfers)),
                    .text(String(variant.bytesSent)), .text(String(variant.fullBytes)),
                    .text(String(variant.bytesSaved)),
                ]
            }
        )
        body.link("drift of \(name)", to: "/drift?model=\(APIQuery.escaped(name))")
        return ConsolePage(title: name, body: body)
    }

    static func href(_ name: String) -> String { "/models/" + APIQuery.escaped(name) }
}
