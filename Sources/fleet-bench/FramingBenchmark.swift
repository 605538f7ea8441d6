import ArgumentParser
import FleetTrust
import FleetWire
import Foundation
import NIOCore

/// `fleet-bench framing`: in-process encode and decode throughput of FleetWire frames.
struct FramingBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "framing",
        abstract: "Encode/decode throughput of heartbeat, stateReport and deviceList frames (no sockets)."
    )

    @Option(help: "Seconds per measurement; each case is measured 3 times and the best run is kept.")
    var seconds: Double = 0.5

    @Flag(help: "Print the results as JSON.")
    var json = false

    struct Result: Codable {
        var message: String
        var operation: String
        var frameBytes: Int
        var framesPerSecond: Double
        var megabytesPerSecond: Double
    }

    struct Output: Codable {
        var heartbeatFrameHex: String
        var heartbeatAckFrameHex: String
        var results: [Result]
    }

    func validate() throws {
        guard seconds > 0 && seconds <= 10 else { throw ValidationError("--seconds must be in (0, 10]") }
    }

    func run() async throws {
        let cases: [(String, Message)] = [
            ("heartbeat", .heartbeat),
            ("heartbeatAck", .heartbeatAck),
            ("stateReport", .stateReport(Self.typicalStateReport)),
            ("deviceList (200 devices)", .deviceList(Self.typicalDeviceList)),
        ]
        var results: [Result] = []
        for (name, message) in cases {
            let frameBytes = message.encodedFrame().readableBytes
            var scratch = ByteBufferAllocator().buffer(capacity: 300 * 1024)
            let encode = try measure { Self.encodeBatch(message, into: &scratch) }
            results.append(Result(name, "encode", frameBytes, encode))
            let stream = Self.encodedStream(message)
            let decode = try measure { try Self.decodeBatch(stream, full: true) }
            results.append(Result(name, "decode (frame + message)", frameBytes, decode))
            if frameBytes == 5 {
                let frameOnly = try measure { try Self.decodeBatch(stream, full: false) }
                results.append(Result(name, "decode (frame only, coordinator fast path)", frameBytes, frameOnly))
            }
        }
        let output = Output(
            heartbeatFrameHex: Self.hex(Message.heartbeat.encodedFrame()),
            heartbeatAckFrameHex: Self.hex(Message.heartbeatAck.encodedFrame()),
            results: results
        )
        if json {
            try printJSON(output)
            return
        }
        let heartbeat = Message.heartbeat.encodedFrame().readableBytes
        let ack = Message.heartbeatAck.encodedFrame().readableBytes
        print(
            "Heartbeat on the wire (from the encoder): heartbeat \(heartbeat) bytes [\(output.heartbeatFrameHex)] + "
                + "heartbeatAck \(ack) bytes [\(output.heartbeatAckFrameHex)] = \(heartbeat + ack) bytes per round trip "
                + "(MQTT PINGREQ+PINGRESP: 4), before TCP/IP headers"
        )
        print("")
        let rows = results.map {
            [
                $0.message, $0.operation, "\($0.frameBytes)",
                Self.rate($0.framesPerSecond), String(format: "%.0f", $0.megabytesPerSecond),
            ]
        }
        print(renderTable(["message", "operation", "frame bytes", "frames/s", "MB/s"], rows, leftColumns: 2))
    }

    /// Runs `batch` (which returns how many frames it did) for `seconds`, three times; best frames/s.
    private func measure(_ batch: () throws -> Int) throws -> Double {
        var best = 0.0
        let clock = ContinuousClock()
        for _ in 0..<3 {
            var frames = 0
            let start = clock.now
            var elapsed = Duration.zero
            // Bounded: at most 100 million batches (never reached; the time limit ends it).
            for _ in 0..<100_000_000 {
                frames += try batch()
                elapsed = clock.now - start
                if elapsed.seconds >= seconds { break }
            }
            best = max(best, Double(frames) / elapsed.seconds)
        }
        return best
    }

    /// Encodes frames into one buffer until it holds about 256 KiB; returns the frame count.
    private static func encodeBatch(_ message: Message, into buffer: inout ByteBuffer) -> Int {
        buffer.clear()
        var frames = 0
        while buffer.writerIndex < 256 * 1024 {
            message.encodeFrame(into: &buffer)
            frames += 1
        }
        return frames
    }

    /// Decodes a buffer of back-to-back frames (about 256 KiB) with ``FrameDecoder`` (and ``Message``).
    private static func decodeBatch(_ stream: ByteBuffer, full: Bool) throws -> Int {
        var buffer = stream
        var decoder = FrameDecoder(maximumFrameLength: 1 << 20)
        var frames = 0
        var checksum = 0
        while let frame = try decoder.decode(buffer: &buffer) {
            if full {
                let decoded = try Message(frame: frame)
                checksum &+= Int(decoded.type.rawValue)
            } else {
                checksum &+= Int(frame.type)
            }
            frames += 1
        }
        guard checksum != 0 else { throw BenchError("decoded nothing") }
        return frames
    }

    /// About 256 KiB of back-to-back frames of one message.
    private static func encodedStream(_ message: Message) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 300 * 1024)
        repeat { message.encodeFrame(into: &buffer) } while buffer.writerIndex < 256 * 1024
        return buffer
    }

    private static func rate(_ perSecond: Double) -> String {
        if perSecond >= 1e6 { return String(format: "%.2f M", perSecond / 1e6) }
        if perSecond >= 1e3 { return String(format: "%.1f k", perSecond / 1e3) }
        return String(format: "%.0f", perSecond)
    }

    private static func hex(_ buffer: ByteBuffer) -> String {
        Digest.hex(buffer.readableBytesView, separator: " ")
    }

    static let typicalStateReport = SimulatedAgentHandler.stateReport

    static let typicalDeviceList = DeviceList(
        requestID: 7,
        total: 19_900,
        devices: (0..<200).map { index in
            DeviceSummary(
                id: "d-" + String(format: "%016x", index * 7919),
                name: "bench-\(index)",
                online: index % 3 != 0,
                lastSeenMilliseconds: 1_795_000_000_000 + UInt64(index),
                enrolledAtMilliseconds: 1_790_000_000_000,
                labels: ["bench": "load-gen", "region": "eu"],
                capabilities: typicalStateReport.capabilities,
                software: "fleet-agent/0.1.0",
                installedModels: typicalStateReport.installedModels
            )
        }
    )
}

extension FramingBenchmark.Result {
    fileprivate init(_ message: String, _ operation: String, _ frameBytes: Int, _ framesPerSecond: Double) {
        self.init(
            message: message,
            operation: operation,
            frameBytes: frameBytes,
            framesPerSecond: framesPerSecond,
            megabytesPerSecond: framesPerSecond * Double(frameBytes) / 1e6
        )
    }
}
