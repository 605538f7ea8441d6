// The kit's wire code driven from FleetWire's messages: encode a FleetWire message's fields with the kit, and
// compare what the kit decodes with FleetWire's fields. Used by the vector and the differential tests.
import FleetWire
import Foundation
import NIOCore

@testable import FleetTinyKit

enum LeafWire {
    /// The kit's encoding of `message`, for the types a leaf sends; nil for the others.
    static func kitFrame(_ message: Message) throws -> [UInt8]? {
        var storage = [UInt8](repeating: 0, count: 1 << 16)
        return try storage.withUnsafeMutableBytes { buffer throws -> [UInt8]? in
            var writer = TinyWireWriter(buffer)
            let frame: UnsafeRawBufferPointer?
            switch message {
            case .hello(let hello):
                frame = try hello.software.bytes { software in
                    try TinyOutbound.hello(
                        software: software,
                        maximumFrameLength: hello.maximumFrameLength,
                        into: &writer
                    )
                }
            case .enrol(let enrol):
                frame = try withBytes(enrol.token, enrol.publicKey, enrol.signature, enrol.name, enrol.software) {
                    token,
                    key,
                    signature,
                    name,
                    software in
                    try withPairs(enrol.labels) { labels in
                        try withPairs(enrol.capabilities) { capabilities in
                            try TinyOutbound.enrol(
                                token: token,
                                publicKey: key,
                                signature: signature,
                                name: name,
                                labels: labels,
                                capabilities: capabilities,
                                software: software,
                                into: &writer
                            )
                        }
                    }
                }
            case .authenticate(let request):
                frame = try withBytes(request.deviceID, request.nonce, request.signature, "", "") {
                    id,
                    nonce,
                    signature,
                    _,
                    _ in
                    try TinyOutbound.authenticate(deviceID: id, nonce: nonce, signature: signature, into: &writer)
                }
            case .heartbeat: frame = try TinyOutbound.empty(.heartbeat, into: &writer)
            case .goodbye: frame = try TinyOutbound.empty(.goodbye, into: &writer)
            case .stateReport(let report):
                let models = report.installedModels.map { model in
                    withBytes(model.name, model.variant, model.sha256, "", "") { name, variant, sha, _, _ in
                        TinyInstalledModel(name: name, version: model.version, variant: variant, sha256: sha)!
                    }
                }
                frame = try withBytes(report.software, "", "", "", "") { software, _, _, _, _ in
                    try withPairs(report.capabilities) { capabilities in
                        try models.withUnsafeBufferPointer { installed in
                            try TinyOutbound.stateReport(
                                requestID: report.requestID,
                                software: software,
                                capabilities: capabilities,
                                installed: installed,
                                into: &writer
                            )
                        }
                    }
                }
            case .fetchModel(let request):
                frame = try withBytes(
                    request.model,
                    request.variant,
                    request.baseSHA256,
                    request.resumePayloadSHA256,
                    ""
                ) { model, variant, base, resume, _ in
                    try TinyOutbound.fetchModel(
                        requestID: request.requestID,
                        model: model,
                        version: request.version,
                        variant: variant,
                        baseSHA256: base,
                        resumePayloadSHA256: resume,
                        resumeOffset: request.resumeOffset,
                        into: &writer
                    )
                }
            case .modelReport(let report):
                frame = try withBytes(report.model, report.variant, report.code, report.detail, "") {
                    model,
                    variant,
                    code,
                    detail,
                    _ in
                    try TinyOutbound.modelReport(
                        TinyOutbound.ModelReport(
                            requestID: report.requestID,
                            model: model,
                            version: report.version,
                            variant: variant,
                            outcome: report.outcome.rawValue,
                            code: code,
                            detail: detail,
                            encoding: report.encoding.rawValue,
                            wireBytes: report.wireBytes,
                            resumedFrom: report.resumedFrom,
                            reportID: report.reportID
                        ),
                        into: &writer
                    )
                }
            case .quotaSync(let sync):
                frame = try TinyOutbound.quotaSync(
                    requestID: sync.requestID,
                    afterSequence: sync.afterSequence,
                    into: &writer
                )
            default:
                frame = nil
            }
            return frame.map { Array($0) }
        }
    }

    /// Decodes `frame` with the kit and rebuilds it as a FleetWire message, for the types a leaf reads; nil for a
    /// type the kit passes over as `other`.
    static func kitDecode(_ frame: [UInt8]) throws -> Message? {
        var storage = [UInt8](repeating: 0, count: max(frame.count, 4 + 1024))
        return try storage.withUnsafeMutableBytes { buffer throws -> Message? in
            var reader = TinyFrameReader(buffer: buffer)
            let appended = frame.withUnsafeBytes { reader.append($0) }
            precondition(appended == frame.count)
            guard let decodedFrame = try reader.next() else { throw TinyWireError.truncated }
            switch try TinyInbound(decodedFrame) {
            case .helloAccept(let accept):
                return .helloAccept(
                    HelloAccept(
                        version: accept.version,
                        maximumFrameLength: accept.maximumFrameLength,
                        heartbeatIntervalMilliseconds: accept.heartbeatIntervalMilliseconds,
                        offlineTimeoutMilliseconds: accept.offlineTimeoutMilliseconds,
                        nonce: Array(accept.nonce),
                        serverTimeMilliseconds: accept.serverTimeMilliseconds
                    )
                )
            case .welcome(let welcome):
                return .welcome(
                    Welcome(
                        deviceID: string(welcome.deviceID),
                        labels: map(welcome.labels),
                        releasePublicKey: Array(welcome.releasePublicKey)
                    )
                )
            case .error(let error):
                return .error(
                    ErrorMessage(
                        requestID: error.requestID,
                        code: ErrorCode(rawValue: error.code),
                        message: string(error.message)
                    )
                )
            case .busy(let retry, let message):
                return .busy(Busy(retryAfterMilliseconds: retry, message: string(message)))
            case .heartbeatAck: return .heartbeatAck
            case .ack(let requestID): return .ack(Ack(requestID: requestID))
            case .desiredState(let desired):
                let models = desired.models.map {
                    DesiredModel(model: string($0.model), manifest: Array($0.manifest), reason: string($0.reason))
                }
                guard models.count == desired.count else { throw TinyWireError.invalidValue }
                return .desiredState(DesiredState(models: models))
            case .transferStart(let start):
                return .transferStart(
                    TransferStart(
                        requestID: start.requestID,
                        encoding: TransferEncoding(rawValue: start.encoding)!,
                        baseVersion: start.baseVersion,
                        totalBytes: start.totalBytes,
                        payloadSHA256: Array(start.payloadSHA256),
                        offset: start.offset
                    )
                )
            case .transferChunk(let chunk):
                return .transferChunk(
                    TransferChunk(requestID: chunk.requestID, offset: chunk.offset, bytes: Array(chunk.bytes))
                )
            case .quotaGrants(let grants):
                return .quotaGrants(
                    QuotaGrants(requestID: grants.requestID, records: grants.grants.map { Array($0) })
                )
            case .other:
                return nil
            }
        }
    }

    static func fleetWireFrame(_ message: Message) -> [UInt8] {
        Array(message.encodedFrame().readableBytesView)
    }

    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    static func map(_ encoded: UnsafeRawBufferPointer) -> [String: String] {
        var reader = TinyMapReader(encoded)
        var result: [String: String] = [:]
        while let (key, value) = reader.next() { result[string(key)] = string(value) }
        return result
    }

    /// Calls `body` with the map's pairs sorted by their keys' UTF-8 bytes, as the wire wants them.
    static func withPairs<R>(_ map: [String: String], _ body: (UnsafeBufferPointer<TinyPair>) throws -> R) rethrows -> R
    {
        let sorted = map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let flat = sorted.flatMap { Array($0.key.utf8) + Array($0.value.utf8) }
        return try flat.withUnsafeBytes { raw in
            var offset = 0
            var pairs: [TinyPair] = []
            for (key, value) in sorted {
                let keyCount = key.utf8.count
                let valueCount = value.utf8.count
                pairs.append(
                    TinyPair(
                        key: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + keyCount)]),
                        value: UnsafeRawBufferPointer(
                            rebasing: raw[(offset + keyCount)..<(offset + keyCount + valueCount)]
                        )
                    )
                )
                offset += keyCount + valueCount
            }
            return try pairs.withUnsafeBufferPointer { try body($0) }
        }
    }

    private static func withBytes<R>(
        _ a: some BytesLike,
        _ b: some BytesLike,
        _ c: some BytesLike,
        _ d: some BytesLike,
        _ e: some BytesLike,
        _ body: (
            UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer,
            UnsafeRawBufferPointer
        ) throws -> R
    ) rethrows -> R {
        try a.bytes { a in
            try b.bytes { b in try c.bytes { c in try d.bytes { d in try e.bytes { e in try body(a, b, c, d, e) } } } }
        }
    }
}

protocol BytesLike {
    func bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension String: BytesLike {
    func bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Array(utf8).withUnsafeBytes(body)
    }
}

extension Array: BytesLike where Element == UInt8 {
    func bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}
