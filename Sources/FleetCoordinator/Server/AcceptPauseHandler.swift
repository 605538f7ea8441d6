import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// On the listening channel: when accept(2) fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM), stop accepting for `pause`, then try again; established connections are served meanwhile.
///
/// NIO's `AcceptBackoffHandler` delays the channel's next `read`, but after an accept that failed without any
/// success NIO keeps the listening socket registered for readability (its read is still pending), so epoll
/// reports the waiting connections again at once and accept(2) spins on one core. Turning `autoRead` off
/// unregisters the socket until the pause ends; turning it back on registers it again.
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let pause: TimeAmount
    private var resumption: Scheduled<Void>?

    init(pause: TimeAmount = .seconds(1)) {
        self.pause = pause
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if resumption == nil, let error = error as? IOError, Self.isResourceExhaustion(error.errnoCode) {
            try? context.channel.syncOptions?.setOption(.autoRead, value: false)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            resumption = context.eventLoop.scheduleTask(in: pause) {
                let (handler, context) = loopBound.value
                handler.resumption = nil
                try? context.channel.syncOptions?.setOption(.autoRead, value: true)
            }
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resumption?.cancel()
        resumption = nil
        context.fireChannelInactive()
    }

    static func isResourceExhaustion(_ code: CInt) -> Bool {
        code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM
    }
}

@available(*, unavailable)
extension AcceptPauseHandler: Sendable {}
