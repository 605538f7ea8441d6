import FleetWire
import Foundation
import NIOCore

/// Streams a prepared payload file to one device in ``TransferChunk``s, from a resume offset, reading the
/// file piece by piece (the coordinator never holds a whole blob in memory for a transfer) and waiting for
/// each write to be flushed, so a slow device slows the stream instead of growing buffers.
struct TransferStreamer: Sendable {
    /// Payload bytes per chunk (a frame holds the chunk plus ~20 bytes of header).
    var chunkSize: Int
    /// Bytes per second per transfer, or nil for no limit (for constrained links).
    var rateLimit: Int?
    /// Counts the payload bytes sent, by encoding.
    var metrics: CoordinatorMetrics

    func stream(
        path: String,
        start: TransferStart,
        channel: any Channel
    ) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CoordinatorError.dataDirectory("missing payload \(path)")
        }
        defer { try? handle.close() }
        try await write(.transferStart(start), channel)
        try handle.seek(toOffset: UInt64(start.offset))
        var offset = start.offset
        let began = ContinuousClock.now
        while offset < start.totalBytes {
            try Task.checkCancellation()
            guard channel.isActive else { throw CancellationError() }
            let count = min(chunkSize, start.totalBytes - offset)
            guard let data = try handle.read(upToCount: count), !data.isEmpty else {
                throw CoordinatorError.dataDirectory("payload \(path) is shorter than \(start.totalBytes) bytes")
            }
            try await write(
                .transferChunk(TransferChunk(requestID: start.requestID, offset: offset, bytes: Array(data))),
                channel
            )
            offset += data.count
            metrics.transferred(bytes: data.count, encoding: "\(start.encoding)")
            if let rateLimit, rateLimit > 0 {
                let due = began + .milliseconds(Int64((offset - start.offset) * 1000 / rateLimit))
                if due > ContinuousClock.now { try await Task.sleep(until: due) }
            }
        }
    }

    private func write(_ message: Message, _ channel: any Channel) async throws {
        try await channel.writeAndFlush(message.encodedFrame()).get()
    }
}
