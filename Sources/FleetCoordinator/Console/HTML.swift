/// Markup of a console page, built by appending. Values from outside (device names, labels, event details…) go in
/// only through ``text(_:)``, ``element(_:_:attributes:)``, ``link(_:to:)`` or ``table(_:_:)``, which escape them;
/// ``raw(_:)`` takes the console's own literal markup.
struct HTML: Sendable {
    private(set) var markup = ""

    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe as element content and as a
    /// quoted attribute value.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    mutating func raw(_ literal: String) { markup += literal }

    mutating func text(_ value: String) { markup += Self.escape(value) }

    mutating func append(_ other: HTML) { markup += other.markup }

    /// `<tag attributes…>value</tag>`, the value and attribute values escaped.
    mutating func element(_ tag: String, _ value: String, attributes: [(String, String)] = []) {
        markup += "<\(tag)"
        for (name, attributeValue) in attributes { markup += " \(name)=\"\(Self.escape(attributeValue))\"" }
        markup += ">\(Self.escape(value))</\(tag)>"
    }

    mutating func link(_ label: String, to href: String) { element("a", label, attributes: [("href", href)]) }

    /// A table cell: text, a link, or markup built with this type.
    enum Cell: Sendable {
        case text(String)
        case link(String, href: String)
        case markup(HTML)
    }

    mutating func table(_ headers: [String], _ rows: [[Cell]]) {
        raw("<table><thead><tr>")
        for header in headers { element("th", header) }
        raw("</tr></thead><tbody>")
        for row in rows {
            raw("<tr>")
            for cell in row {
                raw("<td>")
                switch cell {
                case .text(let value): text(value)
                case .link(let label, let href): link(label, to: href)
                case .markup(let html): append(html)
                }
                raw("</td>")
            }
            raw("</tr>")
        }
        raw("</tbody></table>")
    }

    /// A list of `key: value` rows (a device's identity, labels, capabilities).
    mutating func definitions(_ pairs: [(String, String)]) {
        guard !pairs.isEmpty else { return paragraph("none") }
        raw("<dl>")
        for (key, value) in pairs {
            element("dt", key)
            element("dd", value)
        }
        raw("</dl>")
    }

    mutating func heading(_ value: String) { element("h2", value) }

    mutating func paragraph(_ value: String) { element("p", value) }
}
