import FleetTrust

/// A heatmap as server-rendered SVG: one `<rect class="cell">` per row × column with a value, coloured on a
/// sequential scale from 0 to `maximum` (values above it take the darkest colour), each with a `<title>` giving its
/// row, column and value (as given: round it first); a legend of the scale below. Empty cells (nil) are grey and have no title value.
struct Heatmap: Sendable {
    var caption: String
    var rows: [String]
    var columns: [String]
    /// `values[row][column]`.
    var values: [[Double?]]
    var maximum: Double
    /// The legend's ticks, from 0 to `maximum`.
    var ticks: [Double]

    private let cell = 16.0
    private let margin = (left: 90.0, top: 56.0, right: 16.0, legend: 56.0)
    /// Light yellow to dark red, the scale's ends and its middle.
    private static let scale: [(red: Double, green: Double, blue: Double)] = [
        (255, 255, 204), (253, 141, 60), (128, 0, 38),
    ]

    var html: HTML {
        let width = margin.left + cell * Double(columns.count) + margin.right
        let height = margin.top + cell * Double(rows.count) + margin.legend
        var svg = HTML()
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        )
        svg.element("title", caption)
        for (index, column) in columns.enumerated() {
            let x = margin.left + cell * (Double(index) + 0.5)
            svg.raw(
                "<text x=\"\(format(x))\" y=\"\(format(margin.top - 4))\" font-size=\"9\" "
                    + "transform=\"rotate(-60 \(format(x)) \(format(margin.top - 4)))\">"
            )
            svg.text(column)
            svg.raw("</text>")
        }
        for (rowIndex, row) in rows.enumerated() {
            let y = margin.top + cell * Double(rowIndex)
            svg.raw(
                "<text x=\"\(format(margin.left - 6))\" y=\"\(format(y + cell - 4))\" font-size=\"11\" "
                    + "text-anchor=\"end\">"
            )
            svg.text(row)
            svg.raw("</text>")
            for (columnIndex, column) in columns.enumerated() {
                let value = values[rowIndex][columnIndex]
                let x = margin.left + cell * Double(columnIndex)
                svg.raw(
                    "<rect class=\"cell\" x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(cell))\" "
                        + "height=\"\(format(cell))\" fill=\"\(value.map(colour) ?? "#ddd")\"><title>"
                )
                svg.text("\(row), \(column): " + (value.map { String($0) } ?? "no data"))
                svg.raw("</title></rect>")
            }
        }
        legend(at: margin.top + cell * Double(rows.count) + 16, into: &svg)
        svg.raw("</svg>")
        return svg
    }

    /// A strip of the scale's colours with the ticks' values under it.
    private func legend(at y: Double, into svg: inout HTML) {
        let steps = 20
        let width = 200.0
        for step in 0..<steps {
            let value = maximum * (Double(step) + 0.5) / Double(steps)
            svg.raw(
                "<rect x=\"\(format(margin.left + width * Double(step) / Double(steps)))\" y=\"\(format(y))\" "
                    + "width=\"\(format(width / Double(steps) + 0.5))\" height=\"10\" fill=\"\(colour(value))\"/>"
            )
        }
        for tick in ticks {
            let x = margin.left + width * min(tick / maximum, 1)
            svg.raw(
                "<text class=\"tick\" x=\"\(format(x))\" y=\"\(format(y + 24))\" font-size=\"10\" text-anchor=\"middle\">"
            )
            svg.text(tick >= maximum ? "≥ \(format(tick))" : format(tick))
            svg.raw("</text>")
        }
    }

    /// The scale's colour of `value` as `#rrggbb`.
    func colour(_ value: Double) -> String {
        let position = value.isFinite ? min(max(value / maximum, 0), 1) * Double(Self.scale.count - 1) : 0
        let lower = min(Int(position), Self.scale.count - 2)
        let fraction = position - Double(lower)
        let (from, to) = (Self.scale[lower], Self.scale[lower + 1])
        let channels = [
            from.red + (to.red - from.red) * fraction, from.green + (to.green - from.green) * fraction,
            from.blue + (to.blue - from.blue) * fraction,
        ]
        return "#" + Digest.hex(channels.map { UInt8(min(max($0.rounded(), 0), 255)) })
    }

    private func format(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        let rounded = (value * 10_000).rounded() / 10_000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
