import FleetTrust
import FleetWire
import Foundation

/// Model uploads in progress from `fleetctl model push`: each writes to `uploads/<id>.part` in the data
/// directory, chunk by chunk in order, and is checked against its declared size and hash on commit.
actor UploadSessions {
    struct Upload {
        var begin: UploadBegin
        var path: String
        var handle: FileHandle
        var received: Int
        var hasher: BlobHasher
        var lastActivity: ContinuousClock.Instant
    }

    private var uploads: [String: Upload] = [:]
    private let directory: String
    /// The largest model file accepted.
    let maximumSize: Int
    /// An upload that receives nothing for this long is discarded with its file (a `fleetctl` that died mid-push).
    let idleTimeout: Duration

    /// Uploads live only in this actor's memory, so any `uploads/*.part` found at start was left by a coordinator
    /// that stopped mid-upload (or mid-publish): it is removed here, before any new upload begins.
    init(dataDirectory: String, maximumSize: Int = 1 << 30, idleTimeout: Duration = .seconds(600)) {
        directory = dataDirectory + "/uploads"
        self.maximumSize = maximumSize
        self.idleTimeout = idleTimeout
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in leftovers where name.hasSuffix(".part") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// The uploads in progress (for tests and diagnostics).
    var count: Int { uploads.count }

    private func discardIdle(now: ContinuousClock.Instant = .now) {
        for (id, upload) in uploads where now - upload.lastActivity > idleTimeout {
            discard(id)
        }
    }

    func begin(_ request: UploadBegin) throws -> String {
        discardIdle()
        guard request.size > 0, request.size <= maximumSize else {
            throw ErrorMessage(
                requestID: request.requestID,
                code: .badRequest,
                message: "size must be 1…\(maximumSize) bytes"
            )
        }
        try ModelNames.validate(request.model, request.variant, requestID: request.requestID)
        do {
            _ = try ModelProtection(metadata: request.metadata)
        } catch {
            throw ErrorMessage(requestID: request.requestID, code: .badRequest, message: error.detail)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let uploadID = "u-" + Digest.hex(Digest.randomBytes(6))
        let path = directory + "/\(uploadID).part"
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ErrorMessage(requestID: request.requestID, code: .internalError, message: "cannot create \(path)")
        }
        uploads[uploadID] = Upload(
            begin: request,
            path: path,
            handle: handle,
            received: 0,
            hasher: BlobHasher(),
            lastActivity: .now
        )
        return uploadID
    }

    func append(_ chunk: UploadChunk) throws {
        discardIdle()
        guard var upload = uploads[chunk.uploadID] else {
            throw ErrorMessage(requestID: chunk.requestID, code: .notFound, message: "no upload \(chunk.uploadID)")
        }
        guard chunk.offset == upload.received else {
            throw ErrorMessage(
                requestID: chunk.requestID,
                code: .conflict,
                message: "chunk at \(chunk.offset), expected \(upload.received)"
            )
        }
        guard upload.received + chunk.bytes.count <= upload.begin.size else {
            discard(chunk.uploadID)
            throw ErrorMessage(
                requestID: chunk.requestID,
                code: .badRequest,
                message: "more bytes than the declared size"
            )
        }
        try upload.handle.write(contentsOf: chunk.bytes)
        upload.hasher.update(chunk.bytes)
        upload.received += chunk.bytes.count
        upload.lastActivity = .now
        uploads[chunk.uploadID] = upload
    }

    /// Closes a complete upload whose hash matches; returns its request and the file's path.
    func finish(_ commit: UploadCommit) throws -> (UploadBegin, String) {
        guard let upload = uploads.removeValue(forKey: commit.uploadID) else {
            throw ErrorMessage(requestID: commit.requestID, code: .notFound, message: "no upload \(commit.uploadID)")
        }
        try? upload.handle.close()
        guard upload.received == upload.begin.size else {
            try? FileManager.default.removeItem(atPath: upload.path)
            throw ErrorMessage(
                requestID: commit.requestID,
                code: .badRequest,
                message: "received \(upload.received) of \(upload.begin.size) bytes"
            )
        }
        guard upload.hasher.finalize() == upload.begin.sha256 else {
            try? FileManager.default.removeItem(atPath: upload.path)
            throw ErrorMessage(
                requestID: commit.requestID,
                code: .badRequest,
                message: "sha256 does not match the upload"
            )
        }
        return (upload.begin, upload.path)
    }

    func discard(_ uploadID: String) {
        guard let upload = uploads.removeValue(forKey: uploadID) else { return }
        try? upload.handle.close()
        try? FileManager.default.removeItem(atPath: upload.path)
    }
}

/// Model and variant names end up in paths on devices: the protocol's one rule, ``ModelNameRule``.
enum ModelNames {
    static func isValid(_ name: String) -> Bool { ModelNameRule.isValid(name) }

    static func validate(_ names: String..., requestID: UInt64) throws {
        for name in names where !isValid(name) {
            throw ErrorMessage(requestID: requestID, code: .badRequest, message: ModelNameRule.explain(name))
        }
    }
}
