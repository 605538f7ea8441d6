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
        let result = try inflateStream(Array(bytes), maximumSize: maximumSize, format: format)
        guard !result.tooLarge else {
            throw DeltaError.outputTooLarge.with("inflated stream passes \(maximumSize) bytes")
        }
        guard result.status == Z_STREAM_END else { throw DeltaError.corrupt.with("inflate status \(result.status)") }
        guard result.unread == 0 else { throw DeltaError.corrupt.with("bytes after the deflate stream") }
        return result.output
    }

    /// What the stream at the start of `bytes` inflates to, as far as it goes: up to its end, its first error or
    /// `maximumSize` bytes, ignoring what follows it. For scans that look for data inside other files (a stream
    /// found in a database page); never throws on corrupt input.
    public static func inflatePrefix(_ bytes: [UInt8], maximumSize: Int, format: Format = .zlib) -> [UInt8] {
        (try? inflateStream(bytes, maximumSize: maximumSize, format: format).output) ?? []
    }

    /// Runs inflate over `bytes` until the stream ends, fails, needs input it does not have, or its output would
    /// pass `maximumSize` (the output then stops before that chunk).
    private static func inflateStream(
        _ bytes: [UInt8],
        maximumSize: Int,
        format: Format
    ) throws -> (output: [UInt8], status: Int32, unread: Int, tooLarge: Bool) {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw DeltaError.corrupt.with("inflateInit2 \(initStatus)") }
        defer { inflateEnd(&stream) }
        var input = bytes
        var output: [UInt8] = []
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status = Z_OK
        var tooLarge = false
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while true {
                let produced: Int
                (status, produced) = buffer.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(chunk)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, chunk - Int(stream.avail_out))
                }
                guard output.count + produced <= maximumSize else {
                    tooLarge = true
                    return
                }
                output.append(contentsOf: buffer[0..<produced])
                guard status == Z_OK, produced > 0 || stream.avail_in > 0 else { return }
            }
        }
        return (output, status, Int(stream.avail_in), tooLarge)
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
