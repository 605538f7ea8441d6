/// What the encoder chose, for benchmarks and reports.
public struct DeltaStats: Sendable {
    /// Whether the patch codes tensors or is a generic byte delta of the whole file.
    public enum Mode: String, Sendable {
        case tensor
        case generic
        /// Stream mode (DELTA.md section 12), for devices that apply a patch with constant RAM.
        case stream
    }

    /// The method chosen for one tensor.
    public enum Method: String, Sendable {
        case unchanged
        case model = "model"
        case modelRescaled = "model+rescale"
        case zlibPlain = "zlib"
        case zlibXor = "zlib(xor planes)"
        case zlibSubtract = "zlib(sub planes)"
        case raw
        case generic
    }

    /// One tensor's record.
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: String
        public var elementCount: Int
        public var method: Method
        /// Bytes the tensor costs in the patch (for entropy-coded tensors, the coder's estimate).
        public var bytes: Int
    }

    public var mode: Mode
    /// Tensors in coding order (empty in generic mode).
    public var tensors: [Tensor]
    /// Bytes of the fixed header plus the header delta.
    public var headerBytes: Int
    /// Size of the whole patch.
    public var totalBytes: Int
}
