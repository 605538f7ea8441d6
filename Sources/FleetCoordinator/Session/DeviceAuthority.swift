import FleetStore
import FleetTrust
import FleetWire
import Foundation
import Logging

/// The coordinator's decisions about who may connect: enrolment, device and admin authentication.
/// Called from connection handlers through tasks, never on an event loop. `peer` is the source address refusals
/// are counted under (``RefusalLimiter/source(of:)``): only the first refusal of a kind from a source in a window
/// becomes an event and a warning; the others are coalesced.
struct DeviceAuthority: Sendable {
    let store: CoordinatorStore
    let adminCredential: AdminCredential
    let logger: Logger
    var refusals = RefusalLimiter()

    struct Accepted: Sendable {
        var deviceID: String
        var labels: [String: String]
    }

    /// Enrols a new device: checks the key proof, then consumes the token and records the device atomically.
    func enrol(_ request: Enrol, nonce: [UInt8], peer: String) async -> Result<Accepted, ErrorMessage> {
        let challenge = AuthChallenge.enrol(nonce: nonce, publicKey: request.publicKey)
        guard challenge.isValid(signature: request.signature, publicKey: request.publicKey) else {
            await record(nil, "enrol_refused", "bad key proof from \(peer)", source: peer)
            return .failure(ErrorMessage(code: .badSignature, message: "enrolment signature does not verify"))
        }
        let deviceID = DeviceIdentity.deviceID(forPublicKey: request.publicKey)
        let device = NewDevice(
            id: deviceID,
            name: request.name.isEmpty ? deviceID : request.name,
            publicKey: request.publicKey,
            labels: request.labels,
            capabilities: request.capabilities,
            agentVersion: request.software,
            enrolledAt: Date()
        )
        do {
            let record = try await store.enrol(
                device: device,
                tokenHash: Digest.sha256(request.token.utf8),
                now: Date()
            )
            logger.info("device enrolled", metadata: ["device": "\(deviceID)", "name": "\(record.name)"])
            return .success(Accepted(deviceID: record.id, labels: record.labels))
        } catch let error as StoreError {
            let refusal = Self.refusal(for: error)
            await record(
                nil,
                "enrol_refused",
                "\(refusal.code.name) from \(peer) (device \(request.name))",
                source: peer
            )
            return .failure(refusal)
        } catch {
            logger.error("enrolment failed", metadata: ["error": "\(error)"])
            return .failure(ErrorMessage(code: .internalError, message: "enrolment failed on the coordinator"))
        }
    }

    /// Authenticates a known device by its signature of this connection's nonce.
    func authenticate(_ request: Authenticate, nonce: [UInt8], peer: String) async -> Result<Accepted, ErrorMessage> {
        let device: DeviceRecord?
        do {
            device = try await store.device(id: request.deviceID)
        } catch {
            logger.error("device lookup failed", metadata: ["error": "\(error)"])
            return .failure(ErrorMessage(code: .unavailable, message: "device lookup failed; retry later"))
        }
        guard let device else {
            await record(nil, "auth_refused", "unknown device \(request.deviceID) from \(peer)", source: peer)
            return .failure(ErrorMessage(code: .unknownDevice, message: "device \(request.deviceID) is not enrolled"))
        }
        let challenge = AuthChallenge.authenticate(nonce: nonce, deviceID: device.id)
        guard challenge.isValid(signature: request.signature, publicKey: device.publicKey) else {
            await record(device.id, "auth_refused", "bad signature from \(peer)", source: peer)
            return .failure(ErrorMessage(code: .badSignature, message: "signature does not match the enrolled key"))
        }
        return .success(Accepted(deviceID: device.id, labels: device.labels))
    }

    /// Checks a gateway's claim to carry this connection: the gateway is an enrolled device and signed this
    /// connection's nonce with its key. Returns the gateway's id (nil without a claim).
    func verifyGateway(_ claim: GatewayClaim?, nonce: [UInt8], peer: String) async -> Result<String?, ErrorMessage> {
        guard let claim else { return .success(nil) }
        let gateway: DeviceRecord?
        do {
            gateway = try await store.device(id: claim.gatewayID)
        } catch {
            logger.error("gateway lookup failed", metadata: ["error": "\(error)"])
            return .failure(ErrorMessage(code: .unavailable, message: "gateway lookup failed; retry later"))
        }
        guard let gateway else {
            await record(nil, "auth_refused", "unknown gateway \(claim.gatewayID) from \(peer)", source: peer)
            return .failure(ErrorMessage(code: .unknownDevice, message: "gateway \(claim.gatewayID) is not enrolled"))
        }
        let challenge = AuthChallenge.gateway(nonce: nonce, gatewayID: gateway.id)
        guard challenge.isValid(signature: claim.signature, publicKey: gateway.publicKey) else {
            await record(gateway.id, "auth_refused", "bad gateway signature from \(peer)", source: peer)
            return .failure(
                ErrorMessage(code: .badSignature, message: "gateway claim does not match the gateway's enrolled key")
            )
        }
        return .success(gateway.id)
    }

    /// Verifies the gateway's claim (if any), then the device's credentials with `verify`; on success records which
    /// gateway carries the device (or that none does).
    func admit(
        gateway claim: GatewayClaim?,
        nonce: [UInt8],
        peer: String,
        _ verify: () async -> Result<Accepted, ErrorMessage>
    ) async -> Result<Accepted, ErrorMessage> {
        let gatewayID: String?
        switch await verifyGateway(claim, nonce: nonce, peer: peer) {
        case .success(let id): gatewayID = id
        case .failure(let error): return .failure(error)
        }
        let result = await verify()
        if case .success(let accepted) = result {
            do {
                try await store.setGateway(deviceID: accepted.deviceID, gatewayID: gatewayID)
            } catch {
                logger.error("recording the gateway failed", metadata: ["error": "\(error)"])
                return .failure(ErrorMessage(code: .unavailable, message: "gateway not recorded; retry later"))
            }
        }
        return result
    }

    func authenticateAdmin(_ request: AdminAuthenticate, nonce: [UInt8], peer: String) async -> ErrorMessage? {
        guard adminCredential.isValid(proof: request.proof, nonce: nonce) else {
            await record(nil, "admin_refused", "wrong admin proof from \(peer)", source: peer)
            return ErrorMessage(code: .adminDenied, message: "admin credential does not match this coordinator")
        }
        return nil
    }

    /// Logs and stores a refusal, unless the ``RefusalLimiter`` coalesces it (the window's summary counts it).
    private func record(_ deviceID: String?, _ kind: String, _ detail: String, source: String) async {
        guard refusals.refused(source: source, kind: kind) else { return }
        logger.warning("\(kind)", metadata: ["detail": "\(detail)"])
        _ = try? await store.appendEvent(NewEvent(at: Date(), deviceID: deviceID, kind: kind, detail: detail))
    }

    static func refusal(for error: StoreError) -> ErrorMessage {
        switch error {
        case .tokenUnknown: ErrorMessage(code: .tokenUnknown, message: "enrolment token is not known")
        case .tokenExhausted: ErrorMessage(code: .tokenUsed, message: "enrolment token has already been used")
        case .tokenExpired: ErrorMessage(code: .tokenExpired, message: "enrolment token has expired")
        case .deviceKeyInUse: ErrorMessage(code: .keyAlreadyEnrolled, message: "this key is already enrolled")
        default: ErrorMessage(code: .internalError, message: "enrolment failed on the coordinator")
        }
    }
}
