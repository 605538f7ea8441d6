import FleetStore
import FleetTrust
import FleetWire
import Hummingbird

/// The console's actions, for an `admin` token (bearer, or the sign-in cookie): `GET /actions` shows the forms,
/// `POST /actions/pin` pins a model (fleet-wide or for one device) and `POST /actions/round` starts a federated
/// round, each through the same code as the API's `PUT /api/v1/pins` and `POST /api/v1/rounds`. Every POST carries
/// the session's CSRF token (a hidden field): 403 without it, with another session's, or with a read token.
struct ConsoleActions: Sendable {
    let store: CoordinatorStore
    let admin: AdminRequests
    let signIn: ConsoleSignIn

    /// The CSRF token of the session that signed in with `secret`: SHA-256 of it under a label, in hex. A page
    /// of another origin can neither read it nor compute it without the token, which the cookie keeps `HttpOnly`.
    static func csrfToken(for secret: [UInt8]) -> String {
        Digest.hex(Digest.sha256(Array("tinyfleet console csrf\n".utf8) + secret))
    }

    func register(on router: Router<BasicRequestContext>) {
        let actions = self
        router.get("actions") { request, _ -> Response in
            try await Console.serve {
                _ = try APIQuery(request, allowed: [])
                return try await actions.forms(for: request)
            }
        }
        router.post("actions/pin") { request, _ -> Response in
            try await Console.serve {
                let form = try await actions.authorize(request)
                let pinned = try await AdminAPI.pin(
                    PinRequest(
                        model: try Self.field("model", of: form),
                        device: form["device"].flatMap { $0.isEmpty ? nil : $0 },
                        version: try Self.number("version", of: form),
                        rollback: form["rollback"] == "on"
                    ),
                    store: actions.store,
                    admin: actions.admin
                )
                return Self.done(
                    "Pinned \(pinned.model) to v\(pinned.version) for \(form["device"].flatMap { $0.isEmpty ? nil : $0 } ?? "the whole fleet")"
                        + (pinned.rollback ? ", rolling back" : "") + "."
                )
            }
        }
        router.post("actions/round") { request, _ -> Response in
            try await Console.serve {
                let form = try await actions.authorize(request)
                let started = try await AdminAPI.startRound(
                    try ConsoleRoundForm.request(from: form),
                    admin: actions.admin
                )
                return Self.done(
                    "Started round \(started.firstRound) (\(started.rounds) in all). The rounds page shows it."
                )
            }
        }
    }

    /// The form's fields once the request's token has the admin scope and the form carries its session's CSRF token.
    private func authorize(_ request: Request) async throws -> [String: String] {
        try await signIn.require(.admin, for: request)
        let form = try await ConsoleSignIn.form(of: request)
        guard let secret = ConsoleSignIn.token(of: request), let sent = form["csrf"],
            Digest.equalInConstantTime(Array(sent.utf8), Array(Self.csrfToken(for: secret).utf8))
        else {
            throw HTTPError(
                .forbidden,
                message: "this form is not from this console session (CSRF token missing or wrong): reload /actions"
            )
        }
        return form
    }

    private func forms(for request: Request) async throws -> ConsolePage {
        try await signIn.require(.admin, for: request)
        let csrf = Self.csrfToken(for: ConsoleSignIn.token(of: request) ?? [])
        let models = try await ModelSummaryView.all(in: store)
        var body = HTML()
        body.heading("Pin a model to a version")
        body.raw("<form method=\"post\" action=\"/actions/pin\">")
        hidden(csrf, into: &body)
        body.raw("<label>model <select name=\"model\">")
        for model in models { body.element("option", model.name, attributes: [("value", model.name)]) }
        body.raw(
            "</select></label> <label>version <input name=\"version\" type=\"number\" min=\"1\" required></label> "
        )
        body.raw("<label>device (id or name; empty for the fleet) <input name=\"device\"></label> ")
        body.raw("<label><input type=\"checkbox\" name=\"rollback\"> roll back</label> ")
        body.raw("<button type=\"submit\">Pin</button></form>")
        body.heading("Start a federated round")
        body.raw("<form method=\"post\" action=\"/actions/round\">")
        hidden(csrf, into: &body)
        body.raw("<label>model <select name=\"model\">")
        for model in models { body.element("option", model.name, attributes: [("value", model.name)]) }
        body.raw("</select></label> ")
        ConsoleRoundForm.inputs(into: &body)
        body.raw("<button type=\"submit\">Start</button></form>")
        body.paragraph("A blank field takes the default shown in it, as `fleetctl round start` does.")
        return ConsolePage(title: "Actions", body: body)
    }

    private func hidden(_ csrf: String, into body: inout HTML) {
        body.raw("<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(csrf))\">")
    }

    private static func field(_ name: String, of form: [String: String]) throws -> String {
        guard let value = form[name], !value.isEmpty else {
            throw HTTPError(.badRequest, message: "the form has no \(name): use the forms of /actions")
        }
        return value
    }

    private static func number(_ name: String, of form: [String: String]) throws -> Int {
        guard let value = Int(try field(name, of: form)) else {
            throw HTTPError(.badRequest, message: "\(name) is a whole number")
        }
        return value
    }

    private static func done(_ message: String) -> ConsolePage {
        var body = HTML()
        body.paragraph(message)
        body.link("back to the actions", to: "/actions")
        return ConsolePage(title: "Done", body: body)
    }
}
