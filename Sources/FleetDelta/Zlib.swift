import CZlib

/// Deflate and bounded inflate over the system libz.
public enum Zlib {
    /// Stream framing: `zlib` (RFC 1950, header and Adler-32) or `raw` deflate (RFC 1951).
    public enum Format: Sendable {
        case zlib
        case raw

        fileprivate var windowBits: Int32 { self == .zlib ? 15 : -15 }
    }

    /// Compresses `bytes` at `level` (0–9).
    public static func compress(_ bytes: [UInt8], level: Int32 = 9, format: Format = .zlib) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = deflateInit2_(
            &stream,
            level,
            Z_DEFLATED,
            format.windowBits,
            9,
            Z_DEFAULT_STRATEGY,
            ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)
        )
        guard initStatus == Z_OK else { throw DeltaError.compressionFailed.with("deflateInit2 \(initStatus)") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw DeltaError.compressionFailed.with("deflate \(status)") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Inflates `bytes`, throwing ``DeltaError/outputTooLarge`` as soon as the output would pass
    /// `maximumSize`, and ``DeltaError/corrupt`` on an invalid or incomplete stream or trailing bytes.
    public static func decompress(
        _ bytes: some Collection<UInt8>,
        maximumSize: Int,
        format: Format = .zlib
    ) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw DeltaError.corrupt.with("inflateInit2 \(initStatus)") }
        defer { inflateEnd(&stream) }
        var input = Array(bytes)
        var output: [UInt8] = []
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var finished = false
        try input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while !finished {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(chunk)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, chunk - Int(stream.avail_out))
                }
                guard output.count + produced <= maximumSize else {
                    throw DeltaError.outputTooLarge.with("inflated stream passes \(maximumSize) bytes")
                }
                output.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    finished = true
                case Z_OK where produced > 0 || stream.avail_in > 0:
                    continue
                default:
                    throw DeltaError.corrupt.with("inflate status \(status)")
                }
            }
        }
        guard stream.avail_in == 0 else { throw DeltaError.corrupt.with("bytes after the deflate stream") }
        return output
    }

    /// CRC-32 (the zlib/PNG polynomial) of `bytes`.
    public static func crc32(_ bytes: some Collection<UInt8>) -> UInt32 {
        let value = bytes.withContiguousStorageIfAvailable { buffer in
            CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count))
        }
        if let value { return UInt32(truncatingIfNeeded: value) }
        let copy = Array(bytes)
        return copy.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }
}
