import Foundation

/// Refused handshakes (bad token, bad signature, unknown device, wrong admin proof) per source address, in
/// fixed windows (Protocol/SPEC.md, section 6.7). It decides two things, and does no I/O and reads no clock:
///
/// - **coalescing**: the first refusal of each kind from a source in a window is recorded (one event, one
///   warning); the others are only counted, and ``expire(now:)`` hands back their counts when the window ends,
///   to be recorded as one summary event each;
/// - **rate limiting**: once a source has been refused `allowedPerWindow` times in its window, its new
///   connections are answered `busy` until the window ends (``retryAfter(source:now:)``), without any
///   verification or write.
///
/// At most `maximumSources` sources are tracked; refusals from further sources share one bucket, ``otherSources``.
struct RefusalLedger {
    struct Settings: Equatable, Sendable {
        var window: TimeInterval = 60
        var allowedPerWindow = 20
        var maximumSources = 4096
    }

    /// Refusals of one kind from one source that were counted but not recorded one by one.
    struct Summary: Equatable, Sendable {
        var source: String
        var kind: String
        var count: Int
        var windowStart: Date
    }

    /// The bucket shared by sources beyond `maximumSources`.
    static let otherSources = "other sources"
    /// Handshakes that broke the protocol: counted and logged like refusals, but never recorded as events.
    static let protocolErrorKind = "protocol_error"

    private struct Window {
        var start: Date
        var refusals = 0
        /// Per kind: refusals after the first (the first was recorded).
        var coalesced: [String: Int] = [:]
    }

    let settings: Settings
    private var windows: [String: Window] = [:]

    init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// How long `source` must wait before its handshakes are served again; nil when it may go on.
    func retryAfter(source: String, now: Date) -> TimeInterval? {
        guard let window = windows[bucket(source)], now.timeIntervalSince(window.start) < settings.window,
            window.refusals >= settings.allowedPerWindow
        else { return nil }
        return window.start.addingTimeInterval(settings.window).timeIntervalSince(now)
    }

    /// Counts a refusal; returns true when it is the first of its kind in the source's window (record it).
    mutating func refused(source: String, kind: String, now: Date) -> Bool {
        let key = bucket(source)
        var window = windows[key].flatMap { now.timeIntervalSince($0.start) < settings.window ? $0 : nil }
        if window == nil, let old = windows[key] {
            pending.append(contentsOf: Self.summaries(key, old))
        }
        var current = window ?? Window(start: now)
        current.refusals += 1
        let first = current.coalesced[kind] == nil
        current.coalesced[kind, default: -1] += 1
        window = current
        windows[key] = window
        return first
    }

    /// Ends the windows older than the setting and returns what they coalesced (kinds with a count above 0).
    mutating func expire(now: Date) -> [Summary] {
        var out = pending
        pending = []
        for (key, window) in windows where now.timeIntervalSince(window.start) >= settings.window {
            out += Self.summaries(key, window)
            windows[key] = nil
        }
        return out.sorted { ($0.source, $0.kind) < ($1.source, $1.kind) }
    }

    /// Summaries of windows replaced before ``expire(now:)`` saw them.
    private var pending: [Summary] = []

    var trackedSources: Int { windows.count }

    private func bucket(_ source: String) -> String {
        windows[source] != nil || windows.count < settings.maximumSources ? source : Self.otherSources
    }

    private static func summaries(_ key: String, _ window: Window) -> [Summary] {
        window.coalesced.filter { $0.value > 0 }.map {
            Summary(source: key, kind: $0.key, count: $0.value, windowStart: window.start)
        }
    }
}
