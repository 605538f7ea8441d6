import FleetTrust
import FleetWire

/// Hands each authenticated device its model-protection key (`modelKeyRequest` → `modelKey`,
/// `Protocol/AT-REST.md`). The key is derived from the coordinator's `model-protection.key` and the device id,
/// so nothing per device is stored, and a device can only ever get its own key: the id is the session's.
struct ModelKeyService: DeviceMessageHandler {
    let coordinatorSecret: [UInt8]

    func handle(_ message: Message, from deviceID: String) async -> Message? {
        guard case .modelKeyRequest(let request) = message else { return nil }
        let key = DeviceModelKey.derive(coordinatorSecret: coordinatorSecret, deviceID: deviceID)
        return .modelKey(ModelKey(requestID: request.requestID, key: key))
    }
}
