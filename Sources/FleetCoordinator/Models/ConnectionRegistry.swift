import FleetWire
import NIOCore
import Synchronization

/// The open device connections, so that a change (a new model version) can be pushed to devices online now.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[String: [ObjectIdentifier: any Channel]]>([:])
    /// Where messages for devices not connected here go: another coordinator of the fleet may hold them.
    private let relay: DeviceRelay?

    init(relay: DeviceRelay? = nil) {
        self.relay = relay
    }

    func add(_ deviceID: String, _ channel: any Channel) {
        channels.withLock { $0[deviceID, default: [:]][ObjectIdentifier(channel)] = channel }
    }

    func remove(_ deviceID: String, _ channel: any Channel) {
        channels.withLock { channels in
            channels[deviceID]?[ObjectIdentifier(channel)] = nil
            if channels[deviceID]?.isEmpty == true { channels[deviceID] = nil }
        }
    }

    var connectedDeviceIDs: [String] { channels.withLock { Array($0.keys) } }

    /// Devices with at least one open, authenticated connection.
    var connectedCount: Int { channels.withLock { $0.count } }

    /// Closes every open connection of a device (it was removed), after sending it `error`.
    func disconnect(_ deviceID: String, with error: ErrorMessage) {
        let targets = channels.withLock { $0.removeValue(forKey: deviceID).map { Array($0.values) } ?? [] }
        let frame = Message.error(error).encodedFrame()
        for channel in targets {
            channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Sends a message to every open connection of a device; to the relay, if there is one, when it has none here.
    func send(_ message: Message, to deviceID: String) {
        let targets = channels.withLock { Array(($0[deviceID] ?? [:]).values) }
        let frame = message.encodedFrame()
        guard !targets.isEmpty else {
            relay?.enqueue(frame, for: deviceID)
            return
        }
        for channel in targets { channel.writeAndFlush(frame, promise: nil) }
    }

    /// Writes an encoded frame (from the relay) to every open connection of a device; whether it has one here.
    func deliver(_ frame: [UInt8], to deviceID: String) -> Bool {
        let targets = channels.withLock { Array(($0[deviceID] ?? [:]).values) }
        for channel in targets { channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil) }
        return !targets.isEmpty
    }
}
