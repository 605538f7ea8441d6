import FleetDelta
import FleetWire
import NIOCore

/// The fuzz targets' bodies, shared by the libFuzzer executables (the `Fuzz/` package) and by the replay of their
/// corpora in `swift test` (`Tests/FleetFuzzingTests`). Each takes any bytes; it must return without crashing,
/// without allocating more than its limits, and its invariants (stated per entry) must hold, else it traps.
public enum FuzzEntries {
    /// The bytes an unauthenticated peer sends the coordinator: frames (64 KiB limit, as before `welcome`), each
    /// decoded as a message. Invariant: a message that decodes re-encodes to exactly the frame it came from (the
    /// wire has one encoding per message, SPEC section 3).
    public static func wire(_ bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        var decoder = FrameDecoder(maximumFrameLength: Frame.handshakeMaximumLength)
        while let frame = try? decoder.decode(buffer: &buffer) {
            guard let message = try? Message(frame: frame) else { continue }
            var original = ByteBuffer()
            original.writeInteger(UInt32(1 + frame.payload.readableBytes))
            original.writeInteger(frame.type)
            original.writeImmutableBuffer(frame.payload)
            precondition(message.encodedFrame() == original, "\(message.type) does not re-encode to its own bytes")
        }
    }

    /// Limits small enough that the fuzzer spends its time on the parser, not on allocations it allows.
    public static let safeTensorsLimits = SafeTensorsLimits(maximumHeaderSize: 1 << 20, maximumTensorCount: 4096)

    /// A model file as the agent, the coordinator and `fleetctl` parse it. Invariant: every tensor of a parsed
    /// file lies in the data section, and the tensors tile it in order.
    public static func safeTensors(_ bytes: [UInt8]) {
        guard let file = try? SafeTensorsFile.parse(bytes, limits: safeTensorsLimits) else { return }
        var next = file.dataOffset
        for tensor in file.tensors {
            precondition(tensor.range.lowerBound == next && tensor.range.upperBound <= bytes.count, "tensor outside")
            precondition(tensor.range.count == tensor.elementCount * tensor.dtype.byteWidth, "tensor size")
            next = tensor.range.upperBound
        }
        precondition(next == bytes.count, "tensors do not cover the data section")
    }

    /// The largest output ``delta(_:)`` lets a patch produce.
    public static let deltaLimits = DeltaLimits(maximumOutputSize: 4 << 20, maximumHeaderSize: 1 << 20)

    /// A patch applied to a base, as the agent applies `transferStart.encoding = 01` payloads. Input layout: a
    /// 2-byte little-endian base length `n`, then `n` base bytes, then the patch. So that mutations of the base
    /// still reach the patch decoder, the patch's base CRC-32 (bytes 5…8) is set to the base's.
    /// Invariant: an output is never larger than the limit.
    public static func delta(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let declared = Int(bytes[0]) | Int(bytes[1]) << 8
        let baseEnd = min(2 + declared, bytes.count)
        let base = Array(bytes[2..<baseEnd])
        var patch = Array(bytes[baseEnd...])
        if patch.count >= 9 {
            let crc = Zlib.crc32(base)
            for index in 0..<4 { patch[5 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        }
        guard let output = try? DeltaCodec.apply(old: base, patch: patch, limits: deltaLimits) else { return }
        precondition(output.count <= deltaLimits.maximumOutputSize, "output above the limit")
    }

    /// Builds a ``delta(_:)`` input from a base and a patch.
    public static func deltaInput(base: [UInt8], patch: [UInt8]) -> [UInt8] {
        precondition(base.count <= 0xFFFF)
        return [UInt8(base.count & 0xFF), UInt8(base.count >> 8)] + base + patch
    }
}
