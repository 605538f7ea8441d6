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

/// A page of a list endpoint: `limit` items after the one whose key is the `after` cursor, and the path of the
/// next page when there is one (the same query, with `after` the last key of this page).
struct APIPage<Item> {
    let items: [Item]
    let next: String?

    init(
        _ all: [Item],
        key: (Item) -> String,
        query: APIQuery,
        path: String,
        keeping kept: [Substring] = [],
        defaultLimit: Int = 100,
        maximumLimit: Int = 500
    ) throws {
        let limit = try query.limit(default: defaultLimit, maximum: maximumLimit)
        var start = all.startIndex
        if let after = try query.cursor("after") {
            guard let index = all.firstIndex(where: { key($0) == after }) else {
                throw HTTPError(
                    .badRequest,
                    message: "after: nothing listed as \(after) (removed since?): start again without after"
                )
            }
            start = all.index(after: index)
        }
        items = Array(all[start...].prefix(limit))
        guard start + items.count < all.endIndex, let last = items.last else {
            next = nil
            return
        }
        let carried = kept.compactMap { name in
            query.parameters[name].map { "&\(name)=\(APIQuery.escaped(String($0)))" }
        }
        next = "\(path)?limit=\(limit)&after=\(APIQuery.escaped(key(last)))" + carried.joined()
    }
}

extension APIQuery {
    /// `text` percent-encoded for a query value.
    static func escaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }
}
