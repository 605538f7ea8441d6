import CZstd

/// zstd's decoder in-process (libzstd), for the delta benchmark: the same work as `DeltaCodec.apply`, from a
/// patch and a base in memory to the new file in memory, context set-up included.
enum LibZstd {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes a `zstd --patch-from=BASE` frame (the base is the frame's raw-content prefix) of `size` bytes.
    static func decodePatch(_ patch: [UInt8], base: [UInt8], size: Int) throws -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw Failure(description: "ZSTD_createDCtx failed") }
        defer { ZSTD_freeDCtx(context) }
        // --patch-from raises the window to cover the base; accept what the zstd command line accepts.
        try check(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 31), "windowLogMax")
        var output = [UInt8](repeating: 0, count: size)
        let written = try base.withUnsafeBytes { baseBytes in
            try check(ZSTD_DCtx_refPrefix(context, baseBytes.baseAddress, baseBytes.count), "refPrefix")
            return try patch.withUnsafeBytes { source in
                try output.withUnsafeMutableBytes { target in
                    try check(
                        ZSTD_decompressDCtx(
                            context,
                            target.baseAddress,
                            target.count,
                            source.baseAddress,
                            source.count
                        ),
                        "decompress"
                    )
                }
            }
        }
        guard written == size else { throw Failure(description: "zstd produced \(written) bytes, expected \(size)") }
        return output
    }

    @discardableResult
    private static func check(_ result: Int, _ step: String) throws -> Int {
        if ZSTD_isError(result) != 0 {
            throw Failure(description: "zstd \(step): \(String(cString: ZSTD_getErrorName(result)))")
        }
        return result
    }
}
