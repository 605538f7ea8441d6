import FleetDelta
import Testing

/// The conventions of Protocol/DELTA.md section 1, checked on generic-mode patches built by hand from the text:
/// varints of at most 9 bytes with non-shortest forms accepted, and raw DEFLATE (never a zlib stream).
@Suite("DELTA.md section 1 conventions")
struct DeltaConventionTests {
    let old = Array("the base file".utf8)
    let new = Array("hello".utf8)

    /// `TFD`, version 1, mode 0 (generic), CRC-32 of OLD and NEW, then `outputSize` and the instruction stream.
    func genericPatch(outputSize: [UInt8], instructions: [UInt8], format: Zlib.Format = .raw) throws -> [UInt8] {
        var patch: [UInt8] = [0x54, 0x46, 0x44, 1, 0]
        for checksum in [Zlib.crc32(old), Zlib.crc32(new)] {
            patch += (0..<4).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) }
        }
        return patch + outputSize + (try Zlib.compress(instructions, format: format))
    }

    /// addLength 5, the 5 literal bytes, copyLength 0: the whole output as one literal run.
    func literalRun(addLength: [UInt8]) -> [UInt8] { addLength + new + [0] }

    @Test func shortestFormsRebuildTheFile() throws {
        let patch = try genericPatch(outputSize: [5], instructions: literalRun(addLength: [5]))
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
    }

    @Test func nonShortestVarintsAreAccepted() throws {
        // 5 as `85 80 00` (3 bytes) and as `85 00`; the 9-byte `85 80 80 80 80 80 80 80 00` is the longest allowed.
        let longest: [UInt8] = [0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]
        let patch = try genericPatch(
            outputSize: [0x85, 0x80, 0x00],
            instructions: literalRun(addLength: [0x85, 0x00])
        )
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
        let nine = try genericPatch(outputSize: longest, instructions: literalRun(addLength: longest))
        #expect(try DeltaCodec.apply(old: old, patch: nine) == new)
    }

    @Test func aTenByteVarintIsCorrupt() throws {
        let ten: [UInt8] = [0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]
        let patch = try genericPatch(outputSize: ten, instructions: literalRun(addLength: [5]))
        #expect(throws: DeltaError.corrupt) { try DeltaCodec.apply(old: old, patch: patch) }
    }

    @Test func aZlibWrappedStreamIsCorrupt() throws {
        let patch = try genericPatch(outputSize: [5], instructions: literalRun(addLength: [5]), format: .zlib)
        #expect(throws: DeltaError.corrupt) { try DeltaCodec.apply(old: old, patch: patch) }
    }

    @Test func theReferenceEncoderWritesRawDeflate() throws {
        // A generic-mode patch made by the encoder: after the 13-byte container and the 1-byte outputSize, the
        // instruction stream inflates as raw DEFLATE and does not start with a zlib header (CMF 0x78).
        let patch = try DeltaCodec.encode(old: old, new: new)
        #expect(patch[4] == 0)
        let stream = Array(patch[14...])
        #expect(stream.first != 0x78)
        #expect(try Zlib.decompress(stream, maximumSize: 64, format: .raw) == literalRun(addLength: [5]))
    }
}
