import FleetWire
import NIOCore
import Testing

@Suite struct APITokenMessageTests {
    /// createAPIToken (0x27): requestID 5, scope byte, expiresInSeconds 0.
    func createAPIToken(scope: UInt8) throws -> Message {
        try Message(frame: Frame(type: 0x27, payload: ByteBuffer(bytes: [0x05, scope, 0x00])))
    }

    @Test func theScopeIsOneOrTwo() throws {
        #expect(
            try createAPIToken(scope: 1)
                == .createAPIToken(CreateAPIToken(requestID: 5, scope: .read, expiresInSeconds: 0))
        )
        #expect(
            try createAPIToken(scope: 2)
                == .createAPIToken(CreateAPIToken(requestID: 5, scope: .admin, expiresInSeconds: 0))
        )
        for scope: UInt8 in [0, 3, 0xFF] {
            #expect(throws: FleetWireError.self) { try createAPIToken(scope: scope) }
        }
    }

    @Test func scopesAreOrderedAndNamed() {
        #expect(APITokenScope.read < .admin)
        #expect(APITokenScope(name: "read") == .read && APITokenScope(name: "admin") == .admin)
        #expect(APITokenScope(name: "root") == nil)
    }
}
