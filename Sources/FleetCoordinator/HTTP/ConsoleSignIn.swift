import FleetStore
import FleetTrust
import FleetWire
import Foundation
import HTTPTypes
import Hummingbird

/// Who may read `/metrics` and the console on a listener off loopback: a `read` (or `admin`) API token, sent as
/// `Authorization: Bearer TOKEN` or, for a browser, as the cookie the sign-in form (`/login`) sets. The cookie is
/// `HttpOnly`, `SameSite=Strict` and, on a TLS listener, `Secure`; it holds the token itself, so signing out
/// (`POST /logout`) only forgets it in that browser: revoke the token to end it everywhere.
///
/// The sign-in form has a CSRF defence of its own (so that another site cannot sign a browser in with the
/// attacker's token): each form is served with a random nonce both in a hidden field and in a cookie
/// (`HttpOnly`, `SameSite=Strict`, path `/login`), and `POST /login` needs the two to match; a POST whose
/// `Sec-Fetch-Site` says it came from another site is refused too. Both refusals are 403 with a fresh form.
struct ConsoleSignIn: Sendable {
    let authorization: APIAuthorization
    /// Whether the listener serves TLS (the cookie is then `Secure`).
    let secure: Bool

    static let cookie = "tinyfleet_token"
    /// The sign-in form's nonce, also sent as the hidden field ``loginField``.
    static let loginCookie = "tinyfleet_login"
    static let loginField = "login_csrf"
    /// The largest sign-in form read (`token=` and a token, with room for a CSRF field).
    static let maximumFormSize = 1024

    /// `GET /login` (the form), `POST /login` (checks the token, sets the cookie, back to `/`), `POST /logout`.
    func register(on router: Router<BasicRequestContext>) {
        let signIn = self
        router.get("login") { request, _ -> Response in
            _ = try APIQuery(request, allowed: [])
            return try signIn.form(status: .ok, message: nil)
        }
        router.post("login") { request, _ -> Response in
            let form = try await Self.form(of: request)
            guard Self.isFromThisConsole(request, form: form) else {
                return try signIn.form(
                    status: .forbidden,
                    message: "this sign-in form is not from this console (cross-site, or its CSRF nonce is missing or "
                        + "wrong): reload /login and sign in again"
                )
            }
            guard let token = form["token"], !token.isEmpty else {
                return try signIn.form(status: .badRequest, message: "paste a token from `fleetctl api-token create`")
            }
            let record: APITokenRecord
            do {
                record = try await signIn.authorization.require(.read, secret: Array(token.utf8))
            } catch let error as HTTPError {
                return try signIn.form(status: error.status, message: error.body)
            }
            var response = Response(status: .seeOther, headers: [.location: "/"])
            response.setCookie(try signIn.cookie(token, expires: record.expiresAt))
            return response
        }
        router.post("logout") { _, _ -> Response in
            var response = Response(status: .seeOther, headers: [.location: "/login"])
            response.setCookie(try signIn.cookie("", expires: Date(timeIntervalSince1970: 0)))
            return response
        }
    }

    /// The token a request carries: its bearer token, else its cookie; nil for neither.
    static func token(of request: Request) -> [UInt8]? {
        if let header = request.headers[.authorization] {
            guard header.prefix(7).lowercased() == "bearer " else { return [] }
            return Array(header.utf8.dropFirst(7).prefix(APITokens.length + 1))
        }
        return request.cookies[cookie].map { Array($0.value.utf8.prefix(APITokens.length + 1)) }
    }

    /// Checks the request's token for `scope`: 401 without one or with a bad one, 403 too small a scope.
    @discardableResult
    func require(_ scope: APITokenScope, for request: Request) async throws -> APITokenRecord {
        guard let secret = Self.token(of: request) else {
            throw APIAuthorization.unauthorized(
                "this listener is not on loopback: send a token from `fleetctl api-token create --scope "
                    + "\(scope.name)` as `Authorization: Bearer TOKEN`, or sign in with it at /login"
            )
        }
        return try await authorization.require(scope, secret: secret)
    }

    /// Whether a sign-in POST comes from a form this console served: not marked cross-site by the browser
    /// (`Sec-Fetch-Site`), and carrying the nonce of its form both as the field and as the cookie.
    static func isFromThisConsole(_ request: Request, form: [String: String]) -> Bool {
        if let name = HTTPField.Name("Sec-Fetch-Site"), let site = request.headers[name],
            !["same-origin", "none"].contains(site.lowercased())
        {
            return false
        }
        guard let field = form[loginField], field.utf8.count == 32,
            let cookie = request.cookies[loginCookie]?.value
        else { return false }
        return Digest.equalInConstantTime(Array(field.utf8), Array(cookie.utf8))
    }

    /// The sign-in page with a fresh nonce in its hidden field and in the cookie that goes with it.
    func form(status: HTTPResponse.Status, message: String?) throws -> Response {
        let nonce = Digest.hex(Digest.randomBytes(16))
        var response = Self.form(status: status, message: message, nonce: nonce).response
        response.setCookie(
            try Cookie.validated(
                name: Self.loginCookie,
                value: nonce,
                maxAge: 3600,
                path: "/login",
                secure: secure,
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    private func cookie(_ value: String, expires: Date?) throws -> Cookie {
        try Cookie.validated(
            name: Self.cookie,
            value: value,
            expires: expires,
            path: "/",
            secure: secure,
            httpOnly: true,
            sameSite: .strict
        )
    }

    /// The fields of an `application/x-www-form-urlencoded` body of at most ``maximumFormSize`` bytes.
    static func form(of request: Request) async throws -> [String: String] {
        let body = try await AdminAPI.collect(request, upTo: maximumFormSize)
        var components = URLComponents()
        components.percentEncodedQuery = String(decoding: body.readableBytesView, as: UTF8.self)
            .replacingOccurrences(of: "+", with: "%20")
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] { fields[item.name] = item.value ?? "" }
        return fields
    }

    /// The sign-in page: a form that takes a token, with why the last attempt failed.
    private static func form(status: HTTPResponse.Status, message: String?, nonce: String) -> ConsolePage {
        var body = HTML()
        if let message { body.element("p", message, attributes: [("class", "error")]) }
        body.raw("<form method=\"post\" action=\"/login\">")
        body.raw("<input type=\"hidden\" name=\"\(loginField)\" value=\"\(HTML.escape(nonce))\">")
        body.raw("<label>API token ")
        body.raw("<input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> ")
        body.raw("<button type=\"submit\">Sign in</button></form>")
        body.paragraph(
            "A read token shows the console; an admin token also allows its actions. Create one with "
                + "`fleetctl api-token create --scope read`."
        )
        return ConsolePage(title: "Sign in", body: body, status: status)
    }
}

/// Requires a token (``ConsoleSignIn``) on every route registered after it: `/metrics` and the console on a listener
/// off loopback. The console's refusals are the sign-in page (with its status), `/metrics`' are plain errors.
struct RequireReadToken: RouterMiddleware {
    typealias Context = BasicRequestContext
    let signIn: ConsoleSignIn

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            try await signIn.require(.read, for: request)
        } catch let error as HTTPError where request.uri.path != "/metrics" {
            var page = try signIn.form(status: error.status, message: error.body)
            if let challenge = error.headers[.wwwAuthenticate] { page.headers[.wwwAuthenticate] = challenge }
            return page
        }
        return try await next(request, context)
    }
}
