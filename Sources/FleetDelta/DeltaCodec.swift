/// Binary deltas between two versions of a file, tensor-aware for safetensors (format: Protocol/DELTA.md).
///
/// ```
/// +-----+-----+-----+---------+------+-----------+-----------+----------------------+
/// | 'T' | 'F' | 'D' | version | mode | CRC32 old | CRC32 new | body (mode-specific) |
/// +-----+-----+-----+---------+------+-----------+-----------+----------------------+
/// ```
public enum DeltaCodec {
    static let magic: [UInt8] = [0x54, 0x46, 0x44]
    static let version: UInt8 = 1
    static let genericMode: UInt8 = 0
    static let tensorMode: UInt8 = 1
    static let streamMode: UInt8 = 2
    static let fixedHeaderSize = 13

    /// Encodes a patch that turns `old` into `new`. Works for any bytes; tensor-aware when both parse as
    /// safetensors.
    public static func encode(old: [UInt8], new: [UInt8], options: DeltaOptions = .init()) throws -> [UInt8] {
        try encodeWithStats(old: old, new: new, options: options).patch
    }

    /// Like ``encode(old:new:options:)``, also returning what was chosen for each tensor.
    public static func encodeWithStats(
        old: [UInt8],
        new: [UInt8],
        options: DeltaOptions = .init()
    ) throws -> (patch: [UInt8], stats: DeltaStats) {
        var writer = ByteWriter()
        writer.write(magic)
        writer.bytes.append(version)
        let modeIndex = writer.bytes.count
        writer.bytes.append(genericMode)
        writer.writeUInt32LE(Zlib.crc32(old))
        writer.writeUInt32LE(Zlib.crc32(new))
        if options.streaming {
            writer.bytes[modeIndex] = streamMode
            StreamDeltaEncoder(old: old, new: new).encode(into: &writer)
            let stats = DeltaStats(
                mode: .stream,
                tensors: [],
                headerBytes: fixedHeaderSize,
                totalBytes: writer.bytes.count
            )
            return (writer.bytes, stats)
        }
        if options.tensorAware, let oldFile = try? SafeTensorsFile.parse(old),
            let newFile = try? SafeTensorsFile.parse(new)
        {
            writer.bytes[modeIndex] = tensorMode
            let headerStart = writer.bytes.count
            let encoder = TensorDeltaEncoder(old: oldFile, new: newFile, options: options)
            var headerWriter = ByteWriter()
            try HeaderDelta.encode(old: oldFile.headerBytes, new: newFile.headerBytes, into: &headerWriter)
            let tensors = try encoder.encode(into: &writer)
            let stats = DeltaStats(
                mode: .tensor,
                tensors: tensors,
                headerBytes: headerStart + headerWriter.bytes.count,
                totalBytes: writer.bytes.count
            )
            return (writer.bytes, stats)
        }
        writer.writeVarint(new.count)
        writer.write(try GenericDelta.encode(old: old[...], new: new[...], level: options.zlibLevel))
        let stats = DeltaStats(
            mode: .generic,
            tensors: [],
            headerBytes: fixedHeaderSize,
            totalBytes: writer.bytes.count
        )
        return (writer.bytes, stats)
    }

    /// Applies a patch. Throws ``DeltaError`` on a corrupt patch, a wrong base (its CRC-32 is stored in the
    /// patch), or an output over `limits.maximumOutputSize`, and verifies the output's CRC-32.
    public static func apply(old: [UInt8], patch: [UInt8], limits: DeltaLimits = .init()) throws -> [UInt8] {
        var reader = ByteReader(patch)
        for expected in magic {
            guard try reader.readByte() == expected else { throw DeltaError.badMagic }
        }
        let patchVersion = try reader.readByte()
        guard patchVersion == version else { throw DeltaError.unsupportedVersion.with("version \(patchVersion)") }
        let mode = try reader.readByte()
        guard mode == genericMode || mode == tensorMode || mode == streamMode else {
            throw DeltaError.unsupportedVersion.with("mode \(mode)")
        }
        let baseChecksum = try reader.readUInt32LE()
        let outputChecksum = try reader.readUInt32LE()
        guard Zlib.crc32(old) == baseChecksum else { throw DeltaError.wrongBase }
        let output: [UInt8]
        if mode == streamMode {
            output = try StreamDeltaDecoder.decode(old: old, patch: patch, reader: &reader, limits: limits)
        } else if mode == tensorMode {
            let oldFile: SafeTensorsFile
            do {
                oldFile = try SafeTensorsFile.parse(
                    old,
                    limits: SafeTensorsLimits(maximumHeaderSize: limits.maximumHeaderSize)
                )
            } catch {
                throw DeltaError.corrupt.with("tensor-mode patch for a base that is not safetensors: \(error)")
            }
            output = try TensorDeltaDecoder(old: oldFile, limits: limits).decode(patch: patch, reader: &reader)
        } else {
            let size = try reader.readVarint()
            guard size <= limits.maximumOutputSize else {
                throw DeltaError.outputTooLarge.with("patch declares \(size) bytes")
            }
            output = try GenericDelta.decode(
                old: old[...],
                payload: try reader.readBytes(reader.remaining),
                outputSize: size
            )
        }
        guard Zlib.crc32(output) == outputChecksum else { throw DeltaError.checksumMismatch }
        return output
    }
}
