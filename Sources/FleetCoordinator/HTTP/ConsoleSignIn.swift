import FleetStore
import FleetWire
import Foundation
import HTTPTypes
import Hummingbird

/// Who may read `/metrics` and the console on a listener off loopback: a `read` (or `admin`) API token, sent as
/// `Authorization: Bearer TOKEN` or, for a browser, as the cookie the sign-in form (`/login`) sets. The cookie is
/// `HttpOnly`, `SameSite=Strict` and, on a TLS listener, `Secure`; it holds the token itself, so signing out
/// (`POST /logout`) only forgets it in that browser: revoke the token to end it everywhere.
struct ConsoleSignIn: Sendable {
    let authorization: APIAuthorization
    /// Whether the listener serves TLS (the cookie is then `Secure`).
    let secure: Bool

    static let cookie = "tinyfleet_token"
    /// The largest sign-in form read (`token=` and a token, with room for a CSRF field).
    static let maximumFormSize = 1024

    /// `GET /login` (the form), `POST /login` (checks the token, sets the cookie, back to `/`), `POST /logout`.
    func register(on router: Router<BasicRequestContext>) {
        let signIn = self
        router.get("login") { request, _ -> Response in
            _ = try APIQuery(request, allowed: [])
            return Self.form(status: .ok, message: nil).response
        }
        router.post("login") { request, _ -> Response in
            let form = try await Self.form(of: request)
            guard let token = form["token"], !token.isEmpty else {
                return Self.form(status: .badRequest, message: "paste a token from `fleetctl api-token create`")
                    .response
            }
            let record: APITokenRecord
            do {
                record = try await signIn.authorization.require(.read, secret: Array(token.utf8))
            } catch let error as HTTPError {
                return Self.form(status: error.status, message: error.body).response
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
    static func form(status: HTTPResponse.Status, message: String?) -> ConsolePage {
        var body = HTML()
        if let message { body.element("p", message, attributes: [("class", "error")]) }
        body.raw("<form method=\"post\" action=\"/login\"><label>API token ")
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
            var page = ConsoleSignIn.form(status: error.status, message: error.body).response
            if let challenge = error.headers[.wwwAuthenticate] { page.headers[.wwwAuthenticate] = challenge }
            return page
        }
        return try await next(request, context)
    }
}
