import FleetStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The coordinator's one ``RefusalLedger``, shared by all connections (any event loop, any task).
final class RefusalLimiter: Sendable {
    private let ledger: Mutex<RefusalLedger>

    init(settings: RefusalLedger.Settings = .init()) {
        ledger = Mutex(RefusalLedger(settings: settings))
    }

    var settings: RefusalLedger.Settings { ledger.withLock { $0.settings } }

    /// Milliseconds `source` must wait before its handshakes are served again; nil when it may go on.
    func retryAfterMilliseconds(source: String, now: Date = Date()) -> Int? {
        ledger.withLock { $0.retryAfter(source: source, now: now) }.map { Int(($0 * 1000).rounded(.up)) }
    }

    /// Counts a refusal; true when it should be recorded (an event and a warning) on its own.
    func refused(source: String, kind: String, now: Date = Date()) -> Bool {
        ledger.withLock { $0.refused(source: source, kind: kind, now: now) }
    }

    func expire(now: Date) -> [RefusalLedger.Summary] {
        ledger.withLock { $0.expire(now: now) }
    }

    /// The key refusals are counted under: an IPv4 address; an IPv6 address's /64 prefix (one host usually
    /// holds a whole /64), except IPv4-mapped addresses, which count as their IPv4 address.
    static func source(of address: SocketAddress?) -> String {
        switch address {
        case .v4:
            return address?.ipAddress ?? "unknown"
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return bytes[12...].map { String($0) }.joined(separator: ".")
            }
            let groups = stride(from: 0, to: min(8, bytes.count), by: 2).map {
                String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
            }
            return groups.joined(separator: ":") + "::/64"
        default:
            return "local"
        }
    }
}

/// Records, once per window, the refusals the ``RefusalLimiter`` coalesced: one event per source and kind,
/// with the count.
struct RefusalRecorder: Service {
    let limiter: RefusalLimiter
    let store: CoordinatorStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await record(now: Date())
        }
    }

    func record(now: Date) async {
        let window = Int(limiter.settings.window)
        for summary in limiter.expire(now: now) {
            let detail =
                "\(summary.count) more refused from \(summary.source) in the \(window) s window that began "
                + "\(summary.windowStart.formatted(.iso8601)) (coalesced)"
            logger.warning("\(summary.kind)", metadata: ["detail": "\(detail)"])
            guard summary.kind != RefusalLedger.protocolErrorKind else { continue }
            _ = try? await store.appendEvent(NewEvent(at: now, deviceID: nil, kind: summary.kind, detail: detail))
        }
    }
}
