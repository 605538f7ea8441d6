/// Knobs for ``DeltaCodec/encode(old:new:options:)``.
public struct DeltaOptions: Sendable {
    /// zlib level used for the byte transforms and the generic delta (0–9).
    public var zlibLevel: Int32 = 9
    /// Whether the entropy-coded tensor models may be used (disable to compare against zlib only).
    public var allowEntropyModels: Bool = true
    /// Whether the encoder parses both inputs as safetensors and codes tensor by tensor.
    public var tensorAware: Bool = true
    /// Whether to write a stream-mode patch (DELTA.md section 12): applied in order with constant RAM, for
    /// microcontrollers (devices reporting `class=mcu`). Larger than tensor mode on retrained weights.
    public var streaming: Bool = false

    public init(streaming: Bool = false) { self.streaming = streaming }
}

/// Bounds enforced by ``DeltaCodec/apply(old:patch:limits:)`` on data from the patch.
public struct DeltaLimits: Sendable {
    /// Largest output the patch may produce, checked before any allocation. Default 256 MiB.
    public var maximumOutputSize: Int = 256 << 20
    /// Largest safetensors JSON header accepted in the reconstructed file. Default 100 MB.
    public var maximumHeaderSize: Int = 100_000_000

    public init(maximumOutputSize: Int = 256 << 20, maximumHeaderSize: Int = 100_000_000) {
        self.maximumOutputSize = maximumOutputSize
        self.maximumHeaderSize = maximumHeaderSize
    }
}
