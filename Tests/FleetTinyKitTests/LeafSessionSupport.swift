// A leaf's platform in memory, and the coordinator's side played by the test with FleetWire and FleetTrust.
import Crypto
import FleetTrust
import FleetWire
import Foundation
import NIOCore

@testable import FleetTinyKit

/// What the scripted platform shares with the test (the leaf holds a copy of the platform value).
final class LeafWorld {
    var toLeaf: [UInt8] = []
    var fromLeaf: [UInt8] = []
    var records: [TinyRecord: [UInt8]] = [:]
    var meterRecords: [Int: [UInt8]] = [:]
    /// The records as they were when each frame left the leaf, by the frame's type.
    var recordsAtSend: [(type: UInt8, records: Set<TinyRecord>)] = []
    var now: UInt64 = 1000
    var connected = false
    /// The link closes: the next receive reports it (then stays closed until the leaf connects again).
    var closeLink = false
    /// Payload bytes the installer received, and what it answers at the end.
    var installed: [UInt8] = []
    /// What the installer says it runs (nil: it keeps no record).
    var installerModel: TinyInstalledModel?

    /// Queues a message for the leaf.
    func send(_ message: Message) {
        toLeaf += Array(message.encodedFrame().readableBytesView)
    }

    /// The messages the leaf sent since the last call.
    func sent() throws -> [Message] {
        var buffer = ByteBuffer(bytes: fromLeaf)
        fromLeaf = []
        var messages: [Message] = []
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 4 + Int(length)
        {
            buffer.moveReaderIndex(forwardBy: 4)
            let type = buffer.readInteger(as: UInt8.self) ?? 0
            let payload = buffer.readSlice(length: Int(length) - 1) ?? ByteBuffer()
            messages.append(try Message(frame: Frame(type: type, payload: payload)))
        }
        return messages
    }
}

struct ScriptedPlatform: TinyPlatform {
    let world: LeafWorld

    mutating func connect() -> Bool {
        world.connected = true
        world.closeLink = false
        return true
    }
    mutating func disconnect() { world.connected = false }
    mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if world.closeLink { return -1 }
        let count = min(buffer.count, world.toLeaf.count)
        buffer.copyBytes(from: world.toLeaf.prefix(count))
        world.toLeaf.removeFirst(count)
        return count
    }
    mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        world.fromLeaf += bytes
        world.recordsAtSend.append((bytes[4], Set(world.records.keys)))
        return true
    }
    func monotonicMilliseconds() -> UInt64 { world.now }
    mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        for index in 0..<buffer.count { buffer[index] = UInt8.random(in: 0...255) }
        return true
    }
    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let bytes = world.records[record], bytes.count == buffer.count else { return false }
        buffer.copyBytes(from: bytes)
        return true
    }
    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool {
        world.records[record] = Array(bytes)
        return true
    }
    func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let bytes = world.meterRecords[index], bytes.count == buffer.count else { return false }
        buffer.copyBytes(from: bytes)
        return true
    }
    mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        world.meterRecords[index] = Array(bytes)
        return true
    }
    var pageSize: Int { 256 }
    var pageCount: Int { 16 }
    mutating func erasePage(_ page: Int) -> Bool { true }
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool { true }
}

/// Takes the payload as the weights file itself and checks it against the manifest (size and SHA-256).
struct CheckingInstaller: TinyModelInstaller {
    let world: LeafWorld
    var target = TinyInstalledModel()
    var size = 0
    var bytes: [UInt8] = []

    func accepts(encoding: UInt8) -> Bool { encoding == 0 }
    func installedModel() -> TinyInstalledModel? { world.installerModel }
    mutating func begin(target: TinyInstalledModel, targetSize: Int, encoding: UInt8, totalBytes: Int) -> Bool {
        self.target = target
        size = targetSize
        bytes = []
        return true
    }
    mutating func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        bytes += chunk
        return true
    }
    mutating func finish() -> TinyInstallOutcome {
        let expected = target.withFields { _, _, sha in Array(sha) }
        guard bytes.count == size, Array(SHA256.hash(data: bytes)) == expected else { return .hashMismatch }
        world.installed = bytes
        return .installed
    }
}

/// A leaf and its world, with buffers that live as long as the test.
final class LeafUnderTest {
    let world: LeafWorld
    let receive = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 8)
    let send = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    let text = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    let meterBuffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: TinyLeafMeter.bufferSize(grants: 2),
        alignment: 8
    )
    var leaf: TinyLeaf<ScriptedPlatform, CheckingInstaller>

    /// `metered`: with a TinyLeafMeter of 2 grant slots. `inPlace`: built by `TinyLeaf.start(in:...)` in memory
    /// given to it (as the Cortex-M4 firmware does), then moved here.
    init(world: LeafWorld = LeafWorld(), metered: Bool = false, inPlace: Bool = false) {
        self.world = world
        let token = Array("tft_0123".utf8)
        let software = Array("fleet-tiny/test".utf8)
        text.copyBytes(from: token + software)
        let settings = TinyLeafSettings(
            token: UnsafeRawBufferPointer(rebasing: text[0..<token.count]),
            name: UnsafeRawBufferPointer(start: nil, count: 0),
            software: UnsafeRawBufferPointer(rebasing: text[token.count..<(token.count + software.count)]),
            ramBytes: 262_144,
            flashBytes: 1_048_576
        )
        let meter = metered ? TinyLeafMeter(buffer: meterBuffer, grants: 2) : nil
        guard inPlace else {
            leaf = TinyLeaf(
                platform: ScriptedPlatform(world: world),
                installer: CheckingInstaller(world: world),
                settings: settings,
                receiveBuffer: receive,
                sendBuffer: send,
                meter: meter
            )!
            return
        }
        let storage = UnsafeMutablePointer<TinyLeaf<ScriptedPlatform, CheckingInstaller>>.allocate(capacity: 1)
        defer { storage.deallocate() }
        let started = TinyLeaf.start(
            in: storage,
            platform: ScriptedPlatform(world: world),
            installer: CheckingInstaller(world: world),
            settings: settings,
            receiveBuffer: receive,
            sendBuffer: send,
            meter: meter
        )
        precondition(started, "TinyLeaf.start failed")
        leaf = storage.move()
    }

    deinit {
        receive.deallocate()
        send.deallocate()
        text.deallocate()
        meterBuffer.deallocate()
    }

    @discardableResult
    func poll() -> TinyLeafEvent { leaf.poll() }

    /// Connects (once a retry is due), and plays helloAccept with `nonce` and a welcome pinning `release`.
    func connect(release: ReleaseKey, nonce: [UInt8] = LeafScript.nonce) {
        world.now += 60_000
        poll()
        world.send(LeafScript.helloAccept(nonce: nonce))
        poll()
        world.send(.welcome(Welcome(deviceID: "d-0000000000000000", labels: [:], releasePublicKey: release.publicKey)))
        poll()
    }
}

enum LeafScript {
    static let nonce = (0..<32).map { UInt8($0) }

    static func helloAccept(nonce: [UInt8] = nonce) -> Message {
        .helloAccept(
            HelloAccept(
                version: 2,
                maximumFrameLength: 8188,
                heartbeatIntervalMilliseconds: 10_000,
                offlineTimeoutMilliseconds: 30_000,
                nonce: nonce,
                serverTimeMilliseconds: 0
            )
        )
    }

    static func manifest(
        _ version: Int,
        file: [UInt8],
        key: ReleaseKey,
        metadata: [String: String] = [:]
    ) throws -> [UInt8] {
        try SignedManifest.sign(
            ReleaseManifest(
                model: "digits-mlp",
                version: version,
                variant: "int8",
                size: file.count,
                sha256: Array(SHA256.hash(data: file)),
                metadata: metadata,
                issuedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(version))
            ),
            with: key
        ).encoded()
    }

    /// transferStart and chunks of 1000 bytes for `payload`.
    static func transfer(_ requestID: UInt64, _ payload: [UInt8]) -> [Message] {
        var messages: [Message] = [
            .transferStart(
                TransferStart(
                    requestID: requestID,
                    encoding: .full,
                    baseVersion: 0,
                    totalBytes: payload.count,
                    payloadSHA256: Array(SHA256.hash(data: payload)),
                    offset: 0
                )
            )
        ]
        for start in stride(from: 0, to: payload.count, by: 1000) {
            let end = min(start + 1000, payload.count)
            messages.append(
                .transferChunk(TransferChunk(requestID: requestID, offset: start, bytes: Array(payload[start..<end])))
            )
        }
        return messages
    }
}
