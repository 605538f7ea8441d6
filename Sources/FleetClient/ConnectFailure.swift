import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns NIO's connect errors into a ``FleetClientError`` that says what happened and what to check.
enum ConnectFailure {
    static func describe(_ error: any Error, address: CoordinatorAddress) -> FleetClientError {
        if let error = error as? NIOConnectionError {
            if let failure = error.connectionErrors.first { return describe(failure.error, address: address) }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return .unreachable(
                    address,
                    reason: "cannot resolve the host name \"\(address.host)\"",
                    hint: "check the spelling of --coordinator (HOST:PORT)"
                )
            }
        }
        if case ChannelError.connectTimeout = error {
            return .unreachable(
                address,
                reason: "no answer (connection timed out)",
                hint: "check the address and that a firewall lets port \(address.port) through"
            )
        }
        if let error = error as? IOError {
            let reason = String(cString: strerror(error.errnoCode)).lowercased()
            let hint =
                error.errnoCode == ECONNREFUSED
                ? "is fleet-coordinator running and listening on that address?"
                : "check the address and the network"
            return .unreachable(address, reason: reason, hint: hint)
        }
        return .unreachable(address, reason: "\(error)", hint: "check the address and the network")
    }
}

/// Recognises a TLS record where the coordinator's first plaintext frame should start. Before the handshake a
/// frame is at most 64 KiB, so its length prefix begins with 0x00; a TLS record begins with its content type
/// (0x14–0x17, e.g. 0x15 for the alert a TLS server sends back to a plaintext hello) and version major 0x03.
final class TLSRecordSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let address: CoordinatorAddress

    init(address: CoordinatorAddress) { self.address = address }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), (0x14...0x17).contains(type),
            buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self).map({ $0 == 0x03 }) ?? true
        {
            context.fireErrorCaught(FleetClientError.speaksTLS(address))
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        if buffer.readableBytes > 0 { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}

@available(*, unavailable)
extension TLSRecordSniffer: Sendable {}
