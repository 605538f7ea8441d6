import FleetWire
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// What a load generator process is asked to do.
struct LoadSettings: Sendable {
    var address: SocketAddress
    var token: String?
    var firstIndex: Int
    var interval: TimeAmount
    /// The heartbeat phase: warm-up, then the measured window (and whatever follows, reported as "tail").
    var duration: TimeAmount
    var warmup: TimeAmount
    var measure: TimeAmount
    var concurrency: Int
    var handshakeTimeout: TimeAmount
    var sendStateReport: Bool
    /// Speak MQTT 3.1.1 (CONNECT, then PINGREQ as the heartbeat) instead of TinyFleet, for the mosquitto reference.
    var mqtt = false
}

/// One load generator's state. It lives on the generator's only event loop: every handler and timer touches
/// it there, so it needs no locks (it is passed around inside `NIOLoopBound`).
final class LoadRun {
    let settings: LoadSettings
    let eventLoop: any EventLoop
    let keys: [[UInt8]]
    /// Keys `0..<existing` were in the identities file already: they authenticate; the others enrol.
    let existing: Int

    private var nextToLaunch = 0
    private var inFlight = 0
    private var resolvedCount = 0
    private(set) var ready: [any LoadConnection] = []
    private var failures: [String: Int] = [:]
    private var enrolled = 0
    private var authenticated = 0
    private var closedAfterReady = 0
    private let start = NIODeadline.now()
    private var connectDone: NIODeadline?
    private var heartbeatStart = NIODeadline.distantFuture
    private var measureStart = NIODeadline.distantFuture
    private var measureEnd = NIODeadline.distantFuture
    private var measured = LatencyHistogram()
    private var tail = LatencyHistogram()
    private var heartbeatsSent = 0
    private var acks = 0
    private var acksPerSecond: [Int] = []
    private let allResolved: EventLoopPromise<Int>
    private let finished: EventLoopPromise<LoadReport>

    init(settings: LoadSettings, keys: [[UInt8]], existing: Int, eventLoop: any EventLoop) {
        self.settings = settings
        self.keys = keys
        self.existing = existing
        self.eventLoop = eventLoop
        self.allResolved = eventLoop.makePromise()
        self.finished = eventLoop.makePromise()
    }

    /// Starts connecting. The first future completes with the number of established connections once
    /// every connection has succeeded or failed; the second with the report at the end of the heartbeat
    /// phase, which ``startHeartbeats()`` starts.
    func run() -> (connected: EventLoopFuture<Int>, report: EventLoopFuture<LoadReport>) {
        eventLoop.preconditionInEventLoop()
        if keys.isEmpty { allResolved.succeed(0) }
        launchMore()
        return (allResolved.futureResult, finished.futureResult)
    }

    private func launchMore() {
        while inFlight < settings.concurrency && nextToLaunch < keys.count {
            launch(nextToLaunch)
            nextToLaunch += 1
            inFlight += 1
        }
    }

    private func launch(_ index: Int) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    let run = bound.value
                    if run.settings.mqtt {
                        try operations.addHandler(
                            MQTTPingHandler(run: run, clientID: "bench-\(run.settings.firstIndex + index)")
                        )
                    } else {
                        try operations.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameLength: 1 << 20)))
                        try operations.addHandler(SimulatedAgentHandler(run: run, index: index))
                    }
                }
            }
            .connect(to: settings.address)
            .whenFailure { error in bound.value.connectFailed(error) }
    }

    // MARK: - Events from connections

    private func resolved() {
        inFlight -= 1
        resolvedCount += 1
        if resolvedCount == keys.count {
            connectDone = .now()
            allResolved.succeed(ready.count)
        } else {
            launchMore()
        }
    }

    private func connectFailed(_ error: any Error) {
        let kind: String
        if let error = error as? IOError {
            kind = "connect: " + String(cString: strerror(error.errnoCode))
        } else if let error = error as? ChannelError, case .connectTimeout = error {
            kind = "connect: timeout"
        } else {
            kind = "connect: \(error)"
        }
        failures[kind, default: 0] += 1
        resolved()
    }

    func handshakeFailed(_ kind: String) {
        failures[kind, default: 0] += 1
        resolved()
    }

    func becameReady(_ handler: any LoadConnection, enrolled wasEnrolment: Bool) {
        ready.append(handler)
        if wasEnrolment { enrolled += 1 } else if !settings.mqtt { authenticated += 1 }
        resolved()
    }

    func closedWhileReady() {
        closedAfterReady += 1
    }

    func heartbeatSent() {
        heartbeatsSent += 1
    }

    func ack(sentAt: NIODeadline, now: NIODeadline) {
        acks += 1
        let roundTrip = (now - sentAt).nanoseconds
        if sentAt >= measureStart && sentAt < measureEnd {
            measured.record(nanoseconds: roundTrip)
        } else if sentAt >= measureEnd {
            tail.record(nanoseconds: roundTrip)
        }
        let second = Int((now - heartbeatStart).nanoseconds / 1_000_000_000)
        if second >= 0 && second < acksPerSecond.count { acksPerSecond[second] += 1 }
    }

    func unexpected(_ kind: String) {
        failures[kind, default: 0] += 1
    }

    // MARK: - Heartbeat phase

    /// Starts the heartbeat phase (call once every connection is resolved). Connection k of n sends its first
    /// heartbeat at k/n of the interval, then every interval.
    func startHeartbeats() {
        eventLoop.preconditionInEventLoop()
        heartbeatStart = .now()
        measureStart = heartbeatStart + settings.warmup
        measureEnd = measureStart + settings.measure
        acksPerSecond = [Int](repeating: 0, count: Int(settings.duration.nanoseconds / 1_000_000_000) + 3)
        if settings.duration > .zero {
            let count = Int64(ready.count)
            for (k, handler) in ready.enumerated() {
                let phase = TimeAmount.nanoseconds(settings.interval.nanoseconds * Int64(k) / max(count, 1))
                handler.startHeartbeats(initialDelay: phase, interval: settings.interval)
            }
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: settings.duration) { bound.value.stopHeartbeats() }
    }

    private func stopHeartbeats() {
        let heldAtEnd = ready.count - closedAfterReady
        for handler in ready { handler.stopHeartbeats() }
        // Give the last heartbeats a moment to be answered before counting the unanswered ones.
        let grace: TimeAmount = settings.duration > .zero ? .seconds(2) : .zero
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: grace) { bound.value.finish(heldAtEnd: heldAtEnd) }
    }

    private func finish(heldAtEnd: Int) {
        let unanswered = ready.reduce(0) { $0 + $1.outstandingHeartbeats }
        if unanswered > 0 { failures["unanswered-heartbeats", default: 0] += unanswered }
        let closes = ready.compactMap { $0.close() }
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let report = LoadReport(
            count: keys.count,
            firstIndex: settings.firstIndex,
            established: ready.count,
            held: heldAtEnd,
            enrolled: enrolled,
            authenticated: authenticated,
            failures: failures,
            connectSeconds: Double(((connectDone ?? .now()) - start).nanoseconds) / 1e9,
            heartbeatsSent: heartbeatsSent,
            acks: acks,
            measured: measured,
            tail: tail,
            measuredSeconds: Double(settings.measure.nanoseconds) / 1e9,
            acksPerSecond: acksPerSecond,
            cpuSeconds: cpu,
            maxRSSKiB: Int(usage.ru_maxrss)
        )
        let finished = self.finished
        EventLoopFuture.andAllComplete(closes, on: eventLoop).whenComplete { _ in finished.succeed(report) }
    }
}

@available(*, unavailable)
extension LoadRun: Sendable {}
