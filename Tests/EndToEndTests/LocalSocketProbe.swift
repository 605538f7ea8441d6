import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An application on the device, as a test sees it: one request line to the agent's local socket, the answer
/// line, and for a `model` answer the `size` bytes of the weights file that follow it (`Protocol/LOCAL.md`).
enum LocalSocketProbe {
    /// `fields` holds what JSONSerialization decodes (strings, numbers, arrays and dictionaries of them), values
    /// never mutated once decoded.
    struct Answer: @unchecked Sendable {
        var fields: [String: Any]
        var payload: [UInt8]
        var ok: Bool { fields["ok"] as? Bool == true }
        var error: String? { fields["error"] as? String }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A connection to the agent's socket at `path` (reads time out after `timeout` seconds); the caller closes it.
    static func connect(path: String, timeout seconds: Int = 60) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw Failure(description: "connect \(path): errno \(errno)")
        }
        return descriptor
    }

    /// Writes all of `bytes` to `descriptor`.
    static func send(_ bytes: [UInt8], to descriptor: Int32) throws {
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a connection the agent closed is an error here, not a SIGPIPE that ends the tests.
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw Failure(description: "write: errno \(errno)") }
            sent += count
        }
    }

    /// Sends `object` as one request line and reads the answer, on a thread of its own (``offThePool(_:)``): the
    /// read blocks until the agent answers, up to `timeout` seconds, and must not hold one of the few threads of
    /// Swift concurrency's pool that every other test of the suite needs.
    static func request(_ object: [String: Any], path: String, timeout: Int = 60) async throws -> Answer {
        let line = Array(try JSONSerialization.data(withJSONObject: object)) + [UInt8(ascii: "\n")]
        return try await offThePool { try requestBlocking(line: line, path: path, timeout: timeout) }
    }

    /// ``request(_:path:timeout:)``'s body, which blocks the calling thread.
    private static func requestBlocking(line: [UInt8], path: String, timeout: Int) throws -> Answer {
        let descriptor = try connect(path: path, timeout: timeout)
        defer { close(descriptor) }
        try send(line, to: descriptor)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func fill() throws -> Bool {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw Failure(description: "read: errno \(errno)") }
            received += buffer.prefix(count)
            return count > 0
        }
        while !received.contains(UInt8(ascii: "\n")) {
            guard try fill() else { throw Failure(description: "the agent closed without an answer") }
        }
        let end = received.firstIndex(of: UInt8(ascii: "\n")) ?? received.count
        let fields = try JSONSerialization.jsonObject(with: Data(received[..<end])) as? [String: Any] ?? [:]
        var payload = Array(received[(end + 1)...])
        if fields["ok"] as? Bool == true, let size = fields["size"] as? Int {
            while payload.count < size {
                let before = received.count
                guard try fill() else { throw Failure(description: "weights cut at \(payload.count) of \(size)") }
                payload += received[before...]
            }
        }
        return Answer(fields: fields, payload: payload)
    }
}
