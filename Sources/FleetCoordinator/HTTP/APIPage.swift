import FleetCommandLine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The query of a list endpoint of the HTTP admin API, read with bounds before anything is allocated for it:
/// `limit` (1 … `maximumLimit`, default `defaultLimit`) and a cursor (`after` or `since`), at most
/// `maximumQueryLength` bytes in all. Bad values get 400 with what to send instead.
struct APIQuery: Sendable {
    static let maximumQueryLength = 512
    static let maximumCursorLength = 128

    let parameters: [Substring: Substring]

    init(_ request: Request, allowed: Set<Substring>) throws {
        let query = request.uri.query ?? ""
        guard query.utf8.count <= Self.maximumQueryLength else {
            throw HTTPError(.badRequest, message: "the query is longer than \(Self.maximumQueryLength) bytes")
        }
        var parameters: [Substring: Substring] = [:]
        for (key, value) in request.uri.queryParameters {
            guard allowed.contains(key) else {
                throw HTTPError(
                    .badRequest,
                    message: "unknown query parameter \"\(key)\": this endpoint takes "
                        + allowed.sorted().joined(separator: ", ")
                )
            }
            parameters[key] = value
        }
        self.parameters = parameters
    }

    func limit(default defaultLimit: Int, maximum: Int) throws -> Int {
        guard let text = parameters["limit"] else { return defaultLimit }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw HTTPError(.badRequest, message: "limit must be a whole number from 1 to \(maximum)")
        }
        return value
    }

    func cursor(_ name: Substring) throws -> String? {
        guard let text = parameters[name] else { return nil }
        guard !text.isEmpty, text.utf8.count <= Self.maximumCursorLength else {
            throw HTTPError(
                .badRequest,
                message: "\(name) must be 1 to \(Self.maximumCursorLength) bytes: use the value in the Link header"
            )
        }
        return String(text)
    }
}

extension APIQuery {
    /// A sequence number cursor (`since`): only what has a greater one; 0 when absent.
    func sequence(_ name: Substring) throws -> Int64 {
        guard let text = try cursor(name) else { return 0 }
        guard let value = Int64(text), value >= 0 else {
            throw HTTPError(.badRequest, message: "\(name) must be a sequence number (0 or more): the last one seen")
        }
        return value
    }
}

/// A JSON response of the HTTP admin API, with a `Link: <…>; rel="next"` header when a next page exists.
enum APIResponse {
    static func json(_ value: some Encodable, next: String? = nil) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let next, let link = HTTPField.Name("Link") { headers[link] = "<\(next)>; rel=\"next\"" }
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONOutput.data(value)))
        )
    }
}
