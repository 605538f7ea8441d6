/// The element types a safetensors file may declare.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case i64 = "I64"
    case u64 = "U64"
    case f64 = "F64"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .i64, .u64, .f64: 8
        }
    }
}

/// One tensor entry of a safetensors header.
public struct SafeTensor: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range inside the file (absolute offsets, not relative to the data section).
    public var range: Range<Int>

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], range: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.range = range
    }

    /// Number of elements (product of the shape; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Why a byte buffer is not an acceptable safetensors file.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: String, Sendable {
        case truncated = "file shorter than its header"
        case headerTooLarge = "header length over the limit"
        case invalidHeader = "header is not a valid JSON object of tensors"
        case unknownDType = "unknown dtype"
        case sizeMismatch = "byte range does not match shape and dtype"
        case offsetsOutOfRange = "data offsets out of range"
        case overlap = "tensors overlap"
        case gap = "data section not fully covered"
    }

    private let code: Code
    /// The offending tensor or field; not part of equality.
    public let detail: String

    private init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// Fewer than 8 bytes, or fewer than 8 + header length.
    public static let truncated = SafeTensorsError(.truncated)
    /// The declared header length exceeds ``SafeTensorsLimits/maximumHeaderSize``.
    public static let headerTooLarge = SafeTensorsError(.headerTooLarge)
    /// Not UTF-8 JSON, not an object, or an entry with missing or mistyped fields.
    public static let invalidHeader = SafeTensorsError(.invalidHeader)
    /// A `dtype` outside ``SafeTensorsDType``.
    public static let unknownDType = SafeTensorsError(.unknownDType)
    /// `end - begin` differs from the product of the shape times the dtype width.
    public static let sizeMismatch = SafeTensorsError(.sizeMismatch)
    /// `begin > end` or `end` beyond the data section.
    public static let offsetsOutOfRange = SafeTensorsError(.offsetsOutOfRange)
    /// Two tensors share bytes.
    public static let overlap = SafeTensorsError(.overlap)
    /// Bytes of the data section belong to no tensor (the format requires a dense layout).
    public static let gap = SafeTensorsError(.gap)

    /// The same error with `detail` (the offending tensor or field).
    public func with(_ detail: String) -> SafeTensorsError { SafeTensorsError(code, detail) }

    public var description: String {
        detail.isEmpty ? "SafeTensorsError(\(code.rawValue))" : "SafeTensorsError(\(code.rawValue): \(detail))"
    }

    public static func == (lhs: SafeTensorsError, rhs: SafeTensorsError) -> Bool { lhs.code == rhs.code }
}

/// Bounds for ``SafeTensorsFile/parse(_:limits:)``.
public struct SafeTensorsLimits: Sendable {
    /// Largest JSON header accepted (also always bounded by the file size). Default 100 MB.
    public var maximumHeaderSize: Int = 100_000_000
    /// Largest number of tensors accepted. Default 1,000,000.
    public var maximumTensorCount: Int = 1_000_000

    public init(maximumHeaderSize: Int = 100_000_000, maximumTensorCount: Int = 1_000_000) {
        self.maximumHeaderSize = maximumHeaderSize
        self.maximumTensorCount = maximumTensorCount
    }
}
