import CZlib

/// Deflate fed in pieces: compresses a file of any size with memory bounded by zlib's state (about 256 KiB at
/// level 9) plus the caller's chunks, where ``Zlib/compress(_:level:format:)`` needs the whole input and output in
/// memory. The output is the same stream format (`zlib` or `raw`), readable by ``Zlib/decompress(_:maximumSize:format:)``.
public final class ZlibDeflateStream {
    /// zlib keeps a pointer back to its `z_stream`: it lives at one heap address for the stream's life.
    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false

    public init(level: Int32 = 9, format: Zlib.Format = .zlib) throws(DeltaError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream,
            level,
            Z_DEFLATED,
            format == .zlib ? 15 : -15,
            9,
            Z_DEFAULT_STRATEGY,
            ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)
        )
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw DeltaError.compressionFailed.with("deflateInit2 \(status)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `chunk` and appends what deflate produced to `output`; `finish` ends the stream (the last
    /// call, with the last chunk or none).
    public func compress(_ chunk: [UInt8], finish: Bool, into output: inout [UInt8]) throws(DeltaError) {
        guard !finished else { throw DeltaError.compressionFailed.with("the stream is already finished") }
        var input = chunk
        var status = Z_OK
        let piece = 1 << 16
        var buffer = [UInt8](repeating: 0, count: piece)
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = uInt(inBuffer.count)
            repeat {
                let produced: Int
                (status, produced) = buffer.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = uInt(piece)
                    let status = deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
                    return (status, piece - Int(stream.pointee.avail_out))
                }
                output.append(contentsOf: buffer[0..<produced])
                // Without `finish`, deflate has taken everything once it leaves output space unused.
            } while status == Z_OK && (finish || stream.pointee.avail_out == 0)
            stream.pointee.next_in = nil
        }
        if finish {
            guard status == Z_STREAM_END else { throw DeltaError.compressionFailed.with("deflate \(status)") }
            finished = true
        } else if status != Z_OK && status != Z_BUF_ERROR {
            throw DeltaError.compressionFailed.with("deflate \(status)")
        }
    }
}
