/// A line chart as server-rendered SVG: one `<circle>` per point (with a `<title>` giving its label and value),
/// joined by a polyline, x evenly spaced in the points' order, y from 0 to 1 (accuracy).
struct LineChart: Sendable {
    struct Point: Sendable {
        var label: String
        var value: Double
    }

    var caption: String
    var points: [Point]
    var width = 640.0
    var height = 240.0

    private let margin = (left: 44.0, right: 36.0, top: 16.0, bottom: 32.0)

    var html: HTML {
        var svg = HTML()
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        )
        svg.element("title", caption)
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = format(self.y(tick))
            svg.raw(
                "<line x1=\"\(format(margin.left))\" x2=\"\(format(width - margin.right))\" y1=\"\(y)\" y2=\"\(y)\" "
                    + "stroke=\"#ddd\"/>"
            )
            svg.raw("<text x=\"\(format(margin.left - 6))\" y=\"\(y)\" font-size=\"11\" text-anchor=\"end\" dy=\"4\">")
            svg.text(format(tick))
            svg.raw("</text>")
        }
        let coordinates = points.indices.map { (x: x($0), y: y(points[$0].value)) }
        if coordinates.count > 1 {
            let path = coordinates.map { "\(format($0.x)),\(format($0.y))" }.joined(separator: " ")
            svg.raw("<polyline points=\"\(path)\" fill=\"none\" stroke=\"#2a6fb0\" stroke-width=\"2\"/>")
        }
        for (point, at) in zip(points, coordinates) {
            svg.raw("<circle cx=\"\(format(at.x))\" cy=\"\(format(at.y))\" r=\"4\" fill=\"#2a6fb0\"><title>")
            svg.text("\(point.label): \(format(point.value))")
            svg.raw("</title></circle>")
            svg.raw(
                "<text x=\"\(format(at.x))\" y=\"\(format(height - margin.bottom + 18))\" font-size=\"11\" "
                    + "text-anchor=\"middle\">"
            )
            svg.text(point.label)
            svg.raw("</text>")
        }
        svg.raw("</svg>")
        return svg
    }

    private func x(_ index: Int) -> Double {
        let span = width - margin.left - margin.right
        guard points.count > 1 else { return margin.left + span / 2 }
        return margin.left + span * Double(index) / Double(points.count - 1)
    }

    private func y(_ value: Double) -> Double {
        let clamped = value.isFinite ? min(max(value, 0), 1) : 0
        return height - margin.bottom - (height - margin.top - margin.bottom) * clamped
    }

    private func format(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
