import FleetStore
import FleetTrust
import FleetWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The write endpoints (admin scope): pins, round start and model push by upload. Each becomes the admin message
/// `fleetctl` sends for the same action and goes through the coordinator's admin dispatcher (``AdminRequests``),
/// so validation, transactions and events are those of `fleetctl model pin`, `round start` and `model push`.
extension AdminAPI {
    func registerWrites(on api: RouterGroup<BasicRequestContext>, authorization: APIAuthorization) {
        let admin = self.admin
        let store = self.store
        api.put("pins") { request, _ -> Response in
            try await authorization.require(.admin, for: request)
            _ = try APIQuery(request, allowed: [])
            let pin = try await Self.decode(PinRequest.self, from: request, upTo: Self.maximumBodySize)
            return try APIResponse.json(try await Self.pin(pin, store: store, admin: admin))
        }
        api.delete("pins") { request, _ -> Response in
            try await authorization.require(.admin, for: request)
            let query = try APIQuery(request, allowed: ["model", "device"])
            guard let model = try query.cursor("model") else {
                throw HTTPError(.badRequest, message: "model is required: DELETE \(Self.base)/pins?model=NAME")
            }
            let device = try await Self.deviceID(try query.cursor("device"), in: store)
            _ = try await Self.perform(
                .pinModel(PinModel(requestID: 1, model: model, deviceID: device ?? "", version: 0)),
                on: admin
            )
            return Response(status: .noContent)
        }
        api.post("rounds") { request, _ -> Response in
            try await authorization.require(.admin, for: request)
            _ = try APIQuery(request, allowed: [])
            let wanted = try await Self.decode(RoundRequest.self, from: request, upTo: Self.maximumRoundBodySize)
            var response = try APIResponse.json(try await Self.startRound(wanted, admin: admin))
            response.status = .accepted
            return response
        }
        api.put("models/{model}/versions/{version}/variants/{variant}") { request, context -> Response in
            try await authorization.require(.admin, for: request)
            let query = try APIQuery(request, allowed: ["sha256"])
            let upload = try Self.uploadBegin(request, context: context, query: query)
            return try await Self.push(upload, body: request.body, admin: admin)
        }
    }

    /// Pins a model (fleet-wide, or for one device by id or name) as `fleetctl model pin` does: the API's
    /// `PUT /pins` and the console's pin action.
    static func pin(_ pin: PinRequest, store: CoordinatorStore, admin: AdminRequests) async throws -> PinView {
        guard pin.version >= 1 else {
            throw HTTPError(.badRequest, message: "version is 1 or more: DELETE \(Self.base)/pins clears a pin")
        }
        let device = try await Self.deviceID(pin.device, in: store)
        _ = try await Self.perform(
            .pinModel(
                PinModel(
                    requestID: 1,
                    model: pin.model,
                    deviceID: device ?? "",
                    version: pin.version,
                    rollback: pin.rollback ?? false
                )
            ),
            on: admin
        )
        return PinView(model: pin.model, device: device, version: pin.version, rollback: pin.rollback ?? false)
    }

    /// Starts rounds as `fleetctl round start` does: the API's `POST /rounds` and the console's round action.
    static func startRound(_ wanted: RoundRequest, admin: AdminRequests) async throws -> RoundsStartedView {
        let reply = try await Self.perform(.startRound(try wanted.message()), on: admin)
        guard case .roundStarted(let started) = reply else {
            throw HTTPError(.internalServerError, message: "the coordinator answered \(reply.type)")
        }
        return RoundsStartedView(firstRound: started.firstRound, rounds: started.rounds)
    }

    /// Streams `body` into an upload begun with `begin` and commits it, chunk by chunk through the admin
    /// dispatcher as `fleetctl model push` does; an upload that fails part way is discarded (nothing published).
    static func push(_ begin: UploadBegin, body: RequestBody, admin: AdminRequests) async throws -> Response {
        let ready = try await perform(.uploadBegin(begin), on: admin)
        guard case .uploadReady(let upload) = ready else {
            throw HTTPError(.internalServerError, message: "the coordinator answered \(ready.type)")
        }
        var offset = 0
        var requestID: UInt64 = 2
        do {
            for try await buffer in body {
                guard buffer.readableBytes > 0 else { continue }
                let chunk = UploadChunk(
                    requestID: requestID,
                    uploadID: upload.uploadID,
                    offset: offset,
                    bytes: Array(buffer.readableBytesView)
                )
                _ = try await perform(.uploadChunk(chunk), on: admin)
                offset += buffer.readableBytes
                requestID += 1
            }
        } catch {
            await admin.models.uploads.discard(upload.uploadID)
            throw error
        }
        let reply = try await perform(
            .uploadCommit(UploadCommit(requestID: requestID, uploadID: upload.uploadID)),
            on: admin
        )
        guard case .modelPushed(let pushed) = reply else {
            throw HTTPError(.internalServerError, message: "the coordinator answered \(reply.type)")
        }
        var response = try APIResponse.json(PushView(pushed: pushed, size: begin.size, sha256: begin.sha256))
        response.status = .created
        return response
    }

    /// The upload a push request declares: names and version from the path, the size from `Content-Length`, the
    /// SHA-256 from the query (checked on commit against the bytes received).
    static func uploadBegin(_ request: Request, context: BasicRequestContext, query: APIQuery) throws -> UploadBegin {
        let model = try context.parameters.require("model")
        let variant = try context.parameters.require("variant")
        let versionText = try context.parameters.require("version")
        guard let version = Int(versionText), (1...Int(Int32.max)).contains(version) else {
            throw HTTPError(.badRequest, message: "the version in the path is a whole number from 1")
        }
        guard let hexDigest = try query.cursor("sha256"), hexDigest.utf8.count == 64,
            let sha256 = Digest.bytes(hex: hexDigest)
        else {
            throw HTTPError(.badRequest, message: "sha256 is required: the file's SHA-256 as 64 hex digits")
        }
        guard let length = request.headers[.contentLength], let size = Int(length), size >= 0 else {
            throw HTTPError(.lengthRequired, message: "send the file with a Content-Length header")
        }
        return UploadBegin(
            requestID: 1,
            model: model,
            version: version,
            variant: variant,
            size: size,
            sha256: sha256,
            requirements: [:],
            metadata: [:]
        )
    }

    /// Hands `message` to the coordinator's admin dispatcher, the path `fleetctl`'s requests take over the
    /// binary admin protocol, and returns its reply; an error reply becomes the HTTP error with its message.
    static func perform(_ message: Message, on admin: AdminRequests) async throws -> Message {
        let reply = await admin.handle(message, frameBudget: 1 << 20)
        guard case .error(let error) = reply else { return reply }
        let status: HTTPResponse.Status =
            switch error.code {
            case .notFound: .notFound
            case .conflict: .conflict
            case .internalError: .internalServerError
            case .unavailable: .serviceUnavailable
            default: .badRequest
            }
        throw HTTPError(status, message: error.message)
    }

    /// The device id of `device` (an id or a name), nil for none; 404 when it names no device.
    static func deviceID(_ device: String?, in store: CoordinatorStore) async throws -> String? {
        guard let device else { return nil }
        let matching = try await DeviceRecord.matching(device, in: store)
        guard let found = matching.first(where: { $0.id == device }) ?? matching.first else {
            throw HTTPError(.notFound, message: "no device \"\(device)\": GET \(base)/devices lists them")
        }
        guard matching.count == 1 || found.id == device else {
            throw HTTPError(.conflict, message: "\(matching.count) devices are named \(device): use the device id")
        }
        return found.id
    }

    /// The JSON body of a request, at most `limit` bytes (413 beyond), as `T` (400 when it is not).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, upTo limit: Int) async throws -> T {
        let body = try await collect(request, upTo: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw HTTPError(
                .badRequest,
                message: "the body is not the JSON object this endpoint takes (Protocol/admin-api.yaml): "
                    + "\(String(describing: error).prefix(200))"
            )
        }
    }

    /// The largest `POST /api/v1/rounds` body: room for held-out evaluation rows.
    static let maximumRoundBodySize = 1 << 20

    /// The request's body, at most `limit` bytes (413 beyond, unread).
    static func collect(_ request: Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(limit) bytes")
        }
    }
}
