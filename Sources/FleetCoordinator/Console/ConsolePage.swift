import HTTPTypes
import Hummingbird
import NIOCore

/// A console page as served: the title, the body's markup, the status; ``response`` wraps it in the console's
/// layout (navigation, a few lines of CSS, no JavaScript).
struct ConsolePage: Sendable {
    var title: String
    var body: HTML
    var status: HTTPResponse.Status = .ok

    /// Forbids scripts, plugins, frames and any fetch: the pages need none (inline CSS and SVG only), so even
    /// markup that escaped escaping could not run.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; "
        + "frame-ancestors 'none'"

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}nav a{margin-right:1em}\
        table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;\
        text-align:left;vertical-align:top}th{background:#f2f2f2}dl{display:grid;grid-template-columns:max-content \
        auto;gap:.1em 1em}dt{font-weight:600}dd{margin:0}.online{color:#176b2c}.offline{color:#8a1c1c}\
        svg{background:#fafafa;border:1px solid #ddd}
        """

    var response: Response {
        var page = HTML()
        page.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        page.element("title", "\(title) · TinyFleet")
        page.raw("<style>\(Self.style)</style></head><body><nav>")
        page.link("Fleet", to: "/")
        page.link("Rounds", to: "/rounds")
        page.link("Drift", to: "/drift")
        page.link("Events", to: "/events")
        page.link("Sign in", to: "/login")
        page.raw("</nav>")
        page.element("h1", title)
        page.append(body)
        page.raw("</body></html>\n")
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: Self.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                .cacheControl: "no-store",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: page.markup))
        )
    }

    /// The page of an error: what went wrong and what to do, with its status.
    static func error(_ error: HTTPError) -> ConsolePage {
        var body = HTML()
        body.paragraph(error.body ?? "\(error.status)")
        return ConsolePage(title: "\(error.status.code) \(error.status.reasonPhrase)", body: body, status: error.status)
    }
}
