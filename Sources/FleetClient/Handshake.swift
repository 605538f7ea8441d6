import FleetTrust
import FleetWire

extension FleetConnection {
    /// Sends ``Hello`` and returns the coordinator's ``HelloAccept``.
    public mutating func hello(
        role: PeerRole,
        software: String,
        maximumFrameLength: Int = 1 << 20
    ) async throws
        -> HelloAccept
    {
        try await send(.hello(Hello(role: role, software: software, maximumFrameLength: maximumFrameLength)))
        let reply = try await expectNext()
        guard case .helloAccept(let accept) = reply else { throw FleetClientError.unexpected(reply) }
        self.maximumFrameLength = accept.maximumFrameLength
        return accept
    }

    /// Proves a known device's key.
    public mutating func authenticate(
        deviceID: String,
        identity: DeviceIdentity,
        nonce: [UInt8]
    ) async throws -> Welcome {
        let signature = try identity.sign(AuthChallenge.authenticate(nonce: nonce, deviceID: deviceID))
        let reply = try await request(
            .authenticate(Authenticate(deviceID: deviceID, nonce: nonce, signature: signature))
        )
        guard case .welcome(let welcome) = reply else { throw FleetClientError.unexpected(reply) }
        return welcome
    }

    /// Enrols a new device with a one-time token.
    public mutating func enrol(
        token: String,
        identity: DeviceIdentity,
        nonce: [UInt8],
        name: String,
        labels: [String: String],
        capabilities: [String: String],
        software: String
    ) async throws -> Welcome {
        let signature = try identity.sign(AuthChallenge.enrol(nonce: nonce, publicKey: identity.publicKey))
        let enrol = Enrol(
            token: token,
            publicKey: identity.publicKey,
            signature: signature,
            name: name,
            labels: labels,
            capabilities: capabilities,
            software: software
        )
        let reply = try await request(.enrol(enrol))
        guard case .welcome(let welcome) = reply else { throw FleetClientError.unexpected(reply) }
        return welcome
    }

    /// Authenticates as the administrator.
    public mutating func authenticateAdmin(credential: AdminCredential, nonce: [UInt8]) async throws {
        let reply = try await request(
            .adminAuthenticate(AdminAuthenticate(nonce: nonce, proof: credential.proof(nonce: nonce)))
        )
        guard case .welcome = reply else { throw FleetClientError.unexpected(reply) }
    }
}
