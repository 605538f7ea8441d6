import FleetWire
import NIOCore
import Testing

/// startRollout's optional trailing group (SPEC 5.28a, fields 18-20: the crash-loop and latency gates and the device
/// timeout): a payload without it decodes as before with the group's absent values, a payload with it round-trips,
/// and a group that says nothing, or half a group, is refused.
@Suite struct StartRolloutTrailingGroupTests {
    static let base = StartRollout(
        requestID: 1,
        model: "m",
        version: 2,
        waves: [50, 100],
        soakMilliseconds: 1000,
        minimumDevicesPerWave: 1,
        maximumInstallFailurePercent: 20,
        autoRollback: false,
        seed: 5
    )

    static func payload(_ message: StartRollout) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.write(to: &buffer)
        return buffer
    }

    static func decode(_ buffer: ByteBuffer) throws -> StartRollout {
        var reader = WireReader(buffer)
        let decoded = try StartRollout(reading: &reader)
        try reader.expectEnd()
        return decoded
    }

    @Test func withoutTheGroupTheBytesAreTheOldLayoutAndDecodeToItsAbsentValues() throws {
        let old = Self.payload(Self.base)
        #expect(!Self.base.hasTrailingGroup)
        let decoded = try Self.decode(old)
        #expect(decoded == Self.base)
        #expect(decoded.maximumRestartIncrease == -1 && decoded.maximumLatencyIncreasePercent == -1)
        #expect(decoded.deviceTimeoutMilliseconds == 0)
        // Each field of the group alone makes it written: 8 + 8 + the varint.
        for change in [
            { (message: inout StartRollout) in message.maximumRestartIncrease = 0 },
            { (message: inout StartRollout) in message.maximumLatencyIncreasePercent = 50 },
            { (message: inout StartRollout) in message.deviceTimeoutMilliseconds = 1 },
        ] {
            var message = Self.base
            change(&message)
            let bytes = Self.payload(message)
            #expect(bytes.readableBytes == old.readableBytes + 17)
            #expect(try Self.decode(bytes) == message)
        }
    }

    @Test func aGroupThatSaysNothingOrHalfAGroupIsRefused() throws {
        var silent = Self.payload(Self.base)
        silent.writeFloat64(-1)
        silent.writeFloat64(-1)
        silent.writeVarint(0)
        #expect(throws: FleetWireError.self) { try Self.decode(silent) }

        var half = Self.payload(Self.base)
        half.writeFloat64(3)
        #expect(throws: FleetWireError.self) { try Self.decode(half) }

        var infinite = Self.payload(Self.base)
        infinite.writeFloat64(.infinity)
        infinite.writeFloat64(-1)
        infinite.writeVarint(0)
        #expect(throws: FleetWireError.self) { try Self.decode(infinite) }
    }
}
