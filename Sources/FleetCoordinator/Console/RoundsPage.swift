import FleetStore

/// `GET /rounds[?model=NAME]`: per model, the test accuracy of its rounds as a line chart (one point per round
/// that was evaluated), then every round with its participants and bytes up and down.
enum RoundsPage {
    static func load(_ query: APIQuery, in store: CoordinatorStore) async throws -> ConsolePage {
        let rounds = try await RoundView.all(in: store, model: try query.cursor("model"))
        var body = HTML()
        if rounds.isEmpty { body.paragraph("no federated rounds yet (`fleetctl round start MODEL`)") }
        for model in Set(rounds.map(\.model)).sorted() {
            let ofModel = rounds.filter { $0.model == model }
            body.heading(model)
            let evaluated = ofModel.compactMap { round in
                round.testAccuracy.map { LineChart.Point(label: "round \(round.round)", value: $0) }
            }
            if evaluated.isEmpty {
                body.paragraph("no round evaluated yet (`--eval-data`)")
            } else {
                body.append(LineChart(caption: "\(model): test accuracy per round", points: evaluated).html)
            }
            body.table(
                [
                    "round", "status", "variant", "base", "published", "participants", "test accuracy", "bytes up",
                    "bytes down", "started", "detail",
                ],
                ofModel.map { round in
                    [
                        .text(String(round.round)), .text(round.status), .text(round.variant),
                        .text("v\(round.baseVersion)"), .text(round.publishedVersion.map { "v\($0)" } ?? "-"),
                        .text("\(round.participants) of \(round.selected)"),
                        .text(round.testAccuracy.map { String(DriftView.rounded($0)) } ?? "-"),
                        .text(String(round.bytesUp)), .text(String(round.bytesDown)), .text(round.startedAt),
                        .text(round.detail),
                    ]
                }
            )
        }
        return ConsolePage(title: "Federated rounds", body: body)
    }
}
