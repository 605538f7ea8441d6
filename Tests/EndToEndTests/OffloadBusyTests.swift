import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `fleet-agent --offload-busy N` with real processes: while N local inferences are in flight on the agent's
/// socket, an `offload: auto` query goes to the coordinator and is billed at the cloud price; below N it runs here.
/// Inferences are held in flight without timing: an application sends many requests on one connection and reads
/// none of the answers, so that the agent, once the socket's buffers are full, waits to write an answer.
extension EndToEnd {
    @Suite(.serialized) struct OffloadBusyTests {
        /// Rows per held request (a 645 KB request line, under the socket's 1 MiB).
        static let heldRows = 5000
        /// Seconds an answer may take: until the held connections wait on their unread answers, their inferences
        /// keep the agent's threads busy, longer on a loaded machine.
        static let patience = 600

        @Test func autoQueriesGoToTheCoordinatorOnlyWhileTheBusyLimitIsInFlight() async throws {
            try await MeteringHarness.run("offload-busy") { harness in
                try await harness.start(["busy"], agentArguments: ["busy": ["--offload-busy", "2"]])
                try await harness.grant([
                    "busy", "digits-mlp", "--queries", "1000000", "--price", "1/1000", "--cloud-price", "5/1000",
                    "--currency", "USD",
                ])
                let delivered = try await eventually(timeout: .seconds(10)) {
                    try await harness.quota("busy")?.granted == 1_000_000
                }
                try #require(delivered)
                let path = harness.socket("busy")
                let row = [Double](repeating: 0, count: 64)
                let line =
                    Array(
                        try JSONSerialization.data(
                            withJSONObject: [
                                "op": "infer", "model": "digits-mlp",
                                "rows": [[Double]](repeating: row, count: Self.heldRows),
                            ] as [String: Any]
                        )
                    ) + [UInt8(ascii: "\n")]
                // How many unread answers fill the socket for sure: the kernel's send buffer (at most 1.5 times
                // net.core.wmem_default for a Unix socket), then NIO's 64 KiB of pending writes, with room to spare.
                let answerBytes = try await UnreadConnection(path: path, line: line, count: 1).drain()[0].bytes
                let buffer =
                    (try? String(contentsOfFile: "/proc/sys/net/core/wmem_default", encoding: .utf8))
                    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 4 << 20
                let held = (2 * buffer + 128 * 1024) / answerBytes + 2
                var answered = Self.heldRows
                var cloud = 0
                func auto() async throws -> String? {
                    let answer = try await LocalSocketProbe.request(
                        ["op": "infer", "model": "digits-mlp", "rows": [row], "offload": "auto"],
                        path: path,
                        timeout: Self.patience
                    )
                    try #require(answer.ok && (answer.fields["predictions"] as? [Int])?.count == 1, "\(answer.fields)")
                    let via = answer.fields["via"] as? String
                    answered += 1
                    if via == "cloud" { cloud += 1 }
                    return via
                }
                // One inference held: below the limit of 2, every `auto` query runs here.
                let first = try UnreadConnection(path: path, line: line, count: held)
                for _ in 0..<5 { #expect(try await auto() == nil) }
                // Two held: once both wait on their unread answers, `auto` goes to the coordinator.
                let second = try UnreadConnection(path: path, line: line, count: held)
                let offloaded = try await eventually(timeout: .seconds(600), every: .milliseconds(100)) {
                    try await auto() == "cloud"
                }
                #expect(offloaded, "no auto query offloaded with 2 inferences held; \(answered) answered")
                for connection in [first, second] {
                    let answers = try await connection.drain()
                    #expect(answers.count == held && answers.allSatisfy { $0.rows == Self.heldRows && $0.via == nil })
                    answered += answers.reduce(0) { $0 + $1.rows }
                }
                // Answers read: nothing is in flight any more, and `auto` runs here again.
                let local = try await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
                    try await auto() == nil
                }
                #expect(local)
                // The ledger splits the bill as the answers said: cloud rows at 5/1000, the others at 1/1000.
                var usage: [MeteringHarness.Usage] = []
                let billed = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                    usage = try await harness.usage()
                    return usage.first?.queries == UInt64(answered)
                }
                try #require(billed, "\(usage), \(answered) answered")
                let bill = try #require(usage.first)
                #expect(bill.cloudQueries == UInt64(cloud) && cloud >= 1)
                #expect(bill.amountMicros == UInt64((answered - cloud) * 1000 + cloud * 5000))
                #expect(bill.flags.isEmpty)
            }
        }
    }
}

/// An application that sends `count` copies of an `infer` line on one connection (from a thread of its own) and
/// reads none of the answers until ``drain()``. Once the answers fill the socket's buffers, the agent waits to
/// write the next one: that inference stays in flight for as long as the answers stay unread.
final class UnreadConnection: @unchecked Sendable {
    struct Answer: Sendable {
        var bytes: Int
        var rows: Int
        var via: String?
    }

    private let descriptor: Int32
    private let count: Int
    private let sent = DispatchSemaphore(value: 0)

    init(path: String, line: [UInt8], count: Int) throws {
        descriptor = try LocalSocketProbe.connect(path: path, timeout: EndToEnd.OffloadBusyTests.patience)
        self.count = count
        let descriptor = self.descriptor
        let sent = self.sent
        Thread.detachNewThread {
            do {
                for _ in 0..<count { try LocalSocketProbe.send(line, to: descriptor) }
            } catch {
                print("UnreadConnection: \(error)")
            }
            sent.signal()
        }
    }

    /// Reads every answer (each must be `ok`), then closes the connection; on a thread of its own, as the reads
    /// block (``offThePool(_:)``).
    func drain() async throws -> [Answer] {
        try await offThePool { try self.drainBlocking() }
    }

    private func drainBlocking() throws -> [Answer] {
        defer {
            sent.wait()
            close(descriptor)
        }
        var answers: [Answer] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while answers.count < count {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard read > 0 else {
                throw LocalSocketProbe.Failure(description: "answer \(answers.count + 1) of \(count): read \(read)")
            }
            pending += buffer.prefix(read)
            while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let fields = try JSONSerialization.jsonObject(with: Data(pending[..<end])) as? [String: Any] ?? [:]
                guard fields["ok"] as? Bool == true, let predictions = fields["predictions"] as? [Int] else {
                    throw LocalSocketProbe.Failure(description: "answer \(answers.count + 1): \(fields)")
                }
                answers.append(Answer(bytes: end + 1, rows: predictions.count, via: fields["via"] as? String))
                pending.removeSubrange(...end)
            }
        }
        return answers
    }
}
