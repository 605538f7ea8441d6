import FleetTrust
import Testing

/// The one hexadecimal codec: `Digest.hex` and `Digest.bytes(hex:)` round-trip, and anything else is refused.
@Suite struct DigestHexTests {
    @Test func hexRoundTripsAndRefusesWhatIsNotHex() {
        let bytes: [UInt8] = [0x00, 0x0f, 0xa5, 0xff, 0x10]
        #expect(Digest.hex(bytes) == "000fa5ff10")
        #expect(Digest.hex(bytes, separator: " ") == "00 0f a5 ff 10")
        #expect(Digest.bytes(hex: "000fa5ff10") == bytes)
        #expect(Digest.bytes(hex: "000FA5FF10") == bytes)
        #expect(Digest.bytes(hex: "") == [])
        for bad in ["0", "0g", "zz", "00 0f", "+1", "é0"] {
            #expect(Digest.bytes(hex: bad) == nil, "\(bad)")
        }
    }
}
