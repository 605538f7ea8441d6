// Random leaf messages with every field drawn from its whole range (within the kit's documented storage limits).
import FleetLearning
import FleetWire

@testable import FleetTinyKit

enum RandomLeafMessages {
    static func sent(_ g: inout SeededGenerator) -> [Message] {
        [
            .hello(Hello(role: .device, software: text(&g, 40), maximumFrameLength: int(&g, 16_777_216))),
            .enrol(
                Enrol(
                    token: text(&g, 60),
                    publicKey: bytes(&g, 32),
                    signature: bytes(&g, 64),
                    name: text(&g, 40),
                    labels: map(&g),
                    capabilities: map(&g),
                    software: text(&g, 30)
                )
            ),
            .authenticate(Authenticate(deviceID: text(&g, 30), nonce: bytes(&g, 32), signature: bytes(&g, 64))),
            .heartbeat,
            .goodbye,
            .stateReport(
                StateReport(
                    requestID: g.next(),
                    software: text(&g, 30),
                    capabilities: map(&g),
                    installedModels: (0..<int(&g, 3)).map { _ in
                        InstalledModel(
                            name: text(&g, TinyInstalledModel.maximumNameLength),
                            version: int(&g, Int(Int32.max)),
                            variant: text(&g, TinyInstalledModel.maximumVariantLength),
                            sha256: bytes(&g, 32)
                        )
                    }
                )
            ),
            .fetchModel(
                FetchModel(
                    requestID: g.next(),
                    model: text(&g, 64),
                    version: int(&g, Int(Int32.max)),
                    variant: text(&g, 20),
                    baseSHA256: bytes(&g, int(&g, 1) * 32),
                    resumePayloadSHA256: bytes(&g, int(&g, 1) * 32),
                    resumeOffset: int(&g, Int.max)
                )
            ),
            .modelReport(
                ModelReport(
                    requestID: g.next(),
                    model: text(&g, 40),
                    version: int(&g, Int(Int32.max)),
                    variant: text(&g, 20),
                    outcome: ModelReport.Outcome(rawValue: UInt8(int(&g, 2)))!,
                    code: text(&g, 20),
                    detail: text(&g, 80),
                    encoding: TransferEncoding(rawValue: UInt8(int(&g, 1)))!,
                    wireBytes: int(&g, Int.max),
                    resumedFrom: int(&g, Int.max),
                    reportID: g.next()
                )
            ),
        ]
    }

    static func received(_ g: inout SeededGenerator) -> [Message] {
        [
            .helloAccept(
                HelloAccept(
                    version: int(&g, 0xFFFF),
                    maximumFrameLength: int(&g, 16_777_216),
                    heartbeatIntervalMilliseconds: int(&g, Int(Int32.max)),
                    offlineTimeoutMilliseconds: int(&g, Int(Int32.max)),
                    nonce: bytes(&g, 32),
                    serverTimeMilliseconds: g.next()
                )
            ),
            .welcome(Welcome(deviceID: text(&g, 30), labels: map(&g), releasePublicKey: bytes(&g, int(&g, 1) * 32))),
            .error(
                ErrorMessage(requestID: g.next(), code: ErrorCode(rawValue: int(&g, 0xFFFF)), message: text(&g, 60))
            ),
            .busy(Busy(retryAfterMilliseconds: int(&g, Int(Int32.max)), message: text(&g, 40))),
            .heartbeatAck,
            .ack(Ack(requestID: g.next())),
            .desiredState(
                DesiredState(
                    models: (0..<int(&g, 3)).map { _ in
                        DesiredModel(model: text(&g, 30), manifest: bytes(&g, int(&g, 300)), reason: text(&g, 60))
                    }
                )
            ),
            .transferStart(
                TransferStart(
                    requestID: g.next(),
                    encoding: TransferEncoding(rawValue: UInt8(int(&g, 1)))!,
                    baseVersion: int(&g, Int(Int32.max)),
                    totalBytes: int(&g, Int.max / 2) + 1,
                    payloadSHA256: bytes(&g, 32),
                    offset: int(&g, 1)
                )
            ),
            .transferChunk(
                TransferChunk(requestID: g.next(), offset: int(&g, Int.max), bytes: bytes(&g, int(&g, 900)))
            ),
        ]
    }

    /// 0...maximum, often at the edges.
    static func int(_ g: inout SeededGenerator, _ maximum: Int) -> Int {
        switch g.next() % 4 {
        case 0: 0
        case 1: maximum
        default: Int(g.next() % (UInt64(maximum) &+ 1 == 0 ? UInt64.max : UInt64(maximum) + 1))
        }
    }

    static func bytes(_ g: inout SeededGenerator, _ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    /// UTF-8 text of at most `maximumBytes` bytes, with multi-byte characters.
    static func text(_ g: inout SeededGenerator, _ maximumBytes: Int) -> String {
        let alphabet: [Character] = ["a", "Z", "0", "-", "/", " ", "é", "€", "𝄞", "_", "ß"]
        var result = ""
        for _ in 0..<int(&g, maximumBytes) {
            let next = alphabet[Int(g.next() % UInt64(alphabet.count))]
            if result.utf8.count + String(next).utf8.count > maximumBytes { break }
            result.append(next)
        }
        return result
    }

    /// A map with ASCII keys (FleetWire also compares keys under Unicode equivalence, which the kit does not).
    static func map(_ g: inout SeededGenerator) -> [String: String] {
        var result: [String: String] = [:]
        for _ in 0..<int(&g, 5) {
            let key = String((0..<int(&g, 8)).map { _ in Character(UnicodeScalar(UInt8(97 + g.next() % 26))) })
            result[key] = text(&g, 30)
        }
        return result
    }
}
