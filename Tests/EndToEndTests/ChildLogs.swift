import Foundation
import Synchronization
import Testing

/// The logs of the child processes that end-to-end tests start. Each process writes to its own file, so a passing
/// test prints none of it; when a test records an issue, the tail of every live child's log is attached to that
/// issue (once per log), and the test's folder is kept so the whole logs can be read.
enum ChildLogs {
    private struct State {
        var live: [String: String] = [:]  // log path → process name
        var attached: Set<String> = []
        var failedRoots: Set<String> = []
    }

    private static let state = Mutex(State())
    static let tailLines = 40
    private static let marker = "──"

    static func register(_ path: String, name: String) {
        state.withLock { $0.live[path] = name }
    }

    static func unregister(_ path: String) {
        state.withLock { $0.live[path] = nil }
    }

    /// Whether an issue was recorded while a child logging under `root` was alive.
    static func failed(under root: String) -> Bool {
        state.withLock { $0.failedRoots.contains(root) }
    }

    /// The end-to-end suites' issue handler: adds the tails of the live children's logs to the first issue that
    /// concerns them, and a pointer to the log files to every later one.
    @Sendable static func attach(to issue: Issue) -> Issue? {
        // The trait is applied at each level of nesting (EndToEnd, the suite, the test): attach once.
        if issue.comments.contains(where: { $0.rawValue.hasPrefix(marker) }) { return issue }
        var issue = issue
        let (fresh, seen) = state.withLock { state -> ([(String, String)], [String]) in
            let paths = state.live.sorted { $0.key < $1.key }
            for (path, _) in paths {
                state.failedRoots.insert(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            }
            let fresh = paths.filter { !state.attached.contains($0.key) }
            state.attached.formUnion(fresh.map(\.key))
            return (fresh, paths.filter { state.attached.contains($0.key) }.map(\.key))
        }
        for (path, name) in fresh {
            issue.comments.append(
                Comment(rawValue: "\(marker) last \(tailLines) lines of \(name) (\(path)) ──\n" + tail(of: path))
            )
        }
        if fresh.isEmpty, !seen.isEmpty {
            issue.comments.append(
                Comment(
                    rawValue: "\(marker) child logs (attached to an earlier issue): \(seen.joined(separator: ", "))"
                )
            )
        }
        return issue
    }

    private static func tail(of path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.suffix(tailLines).joined(separator: "\n")
    }
}
