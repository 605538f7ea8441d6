import Foundation

/// A parsed safetensors file: an 8-byte little-endian header length, a JSON header, then a dense data section.
///
/// ```
/// +----------------+----------------------------+------------------------------+
/// | N (u64 LE)     | JSON header (N bytes)      | tensor bytes (dense, no gap) |
/// +----------------+----------------------------+------------------------------+
/// ```
/// Parsing is strict: the header must fit in the file and the limit, every entry needs a known `dtype`,
/// a non-negative integer `shape` and `data_offsets` `[begin, end]` whose length equals the shape's byte
/// size, and the tensors must tile the data section exactly (no overlap, no gap), as the reference
/// implementation requires.
public struct SafeTensorsFile: Sendable {
    /// Tensors in data-offset order.
    public var tensors: [SafeTensor]
    /// The `__metadata__` string map (empty when absent).
    public var metadata: [String: String]
    /// The header's JSON bytes exactly as stored (including any trailing padding).
    public var headerBytes: ArraySlice<UInt8>
    /// The bytes the file was parsed from.
    public let bytes: [UInt8]

    /// Offset of the data section (8 + header length).
    public var dataOffset: Int { headerBytes.endIndex }

    /// Parses `bytes`, throwing ``SafeTensorsError`` on any violation.
    public static func parse(_ bytes: [UInt8], limits: SafeTensorsLimits = .init()) throws -> SafeTensorsFile {
        let headerSize = try headerLength(prefix: bytes.prefix(8), fileSize: bytes.count, limits: limits)
        let header = bytes[8..<(8 + headerSize)]
        let (tensors, metadata) = try layout(header: header, fileSize: bytes.count, limits: limits)
        return SafeTensorsFile(tensors: tensors, metadata: metadata, headerBytes: header, bytes: bytes)
    }

    /// The JSON header's length, read from a file's first 8 bytes and bounded by the limit and the file size,
    /// so a caller reading from disk knows how many bytes to read next before allocating them.
    public static func headerLength(
        prefix: ArraySlice<UInt8>,
        fileSize: Int,
        limits: SafeTensorsLimits = .init()
    ) throws -> Int {
        guard prefix.count >= 8, fileSize >= 8 else { throw SafeTensorsError.truncated.with("\(fileSize) bytes") }
        var declared: UInt64 = 0
        for (index, byte) in prefix.prefix(8).enumerated() { declared |= UInt64(byte) << UInt64(8 * index) }
        guard declared <= UInt64(limits.maximumHeaderSize) else {
            throw SafeTensorsError.headerTooLarge.with("\(declared) bytes")
        }
        guard Int(declared) <= fileSize - 8 else { throw SafeTensorsError.truncated.with("header \(declared)") }
        return Int(declared)
    }

    /// Validates a file from its header alone (the `headerLength` bytes after the first 8) and its total size:
    /// the tensors must tile exactly the `fileSize - 8 - header.count` bytes of the data section. Returns the
    /// tensors (absolute ranges) and the `__metadata__` map, without reading any tensor data.
    public static func layout(
        header: ArraySlice<UInt8>,
        fileSize: Int,
        limits: SafeTensorsLimits = .init()
    ) throws -> (tensors: [SafeTensor], metadata: [String: String]) {
        let dataOffset = 8 + header.count
        guard fileSize >= dataOffset else { throw SafeTensorsError.truncated.with("header \(header.count)") }
        let (entries, metadata) = try parseHeader(header, limits: limits)
        return (try layout(entries, dataOffset: dataOffset, dataSize: fileSize - dataOffset), metadata)
    }

    /// Validates a header on its own and returns its tensors (ranges relative to a file whose header starts
    /// at offset 8) and the data section size implied by the largest end offset.
    static func layout(
        ofHeader header: ArraySlice<UInt8>,
        limits: SafeTensorsLimits = .init()
    ) throws -> (tensors: [SafeTensor], dataSize: Int) {
        let (entries, _) = try parseHeader(header, limits: limits)
        let dataSize = entries.map(\.end).max() ?? 0
        return (try layout(entries, dataOffset: 8 + header.count, dataSize: dataSize), dataSize)
    }

    /// Returns the tensor named `name`, if any.
    public func tensor(named name: String) -> SafeTensor? { tensors.first { $0.name == name } }

    /// The raw little-endian bytes of `tensor`.
    public func data(of tensor: SafeTensor) -> ArraySlice<UInt8> { bytes[tensor.range] }

    private struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func parseHeader(
        _ header: ArraySlice<UInt8>,
        limits: SafeTensorsLimits
    ) throws -> ([Entry], [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw SafeTensorsError.invalidHeader.with("JSON: \(error)")
        }
        guard let root = object as? [String: Any] else { throw SafeTensorsError.invalidHeader.with("not an object") }
        guard root.count <= limits.maximumTensorCount + 1 else {
            throw SafeTensorsError.invalidHeader.with("\(root.count) entries")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in root {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw SafeTensorsError.invalidHeader.with(name) }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw SafeTensorsError.invalidHeader.with("metadata \(key)")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try parseEntry(name: name, value))
        }
        return (entries, metadata)
    }

    private static func parseEntry(name: String, _ value: Any) throws -> Entry {
        guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
            let shapeValues = fields["shape"] as? [Any], let offsetValues = fields["data_offsets"] as? [Any],
            offsetValues.count == 2
        else { throw SafeTensorsError.invalidHeader.with("entry \(name)") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType.with("\(name): \(dtypeName)")
        }
        let shape = try shapeValues.map { try integer($0, field: "\(name).shape") }
        let begin = try integer(offsetValues[0], field: "\(name).data_offsets")
        let end = try integer(offsetValues[1], field: "\(name).data_offsets")
        guard begin <= end else { throw SafeTensorsError.offsetsOutOfRange.with("\(name): \(begin) > \(end)") }
        var expected = dtype.byteWidth
        for dimension in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw SafeTensorsError.sizeMismatch.with("\(name): shape overflows") }
            expected = product
        }
        guard expected == end - begin else {
            throw SafeTensorsError.sizeMismatch.with("\(name): \(end - begin) bytes, shape needs \(expected)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// A non-negative integer JSON number (no fraction, no boolean) that fits in `Int`.
    private static func integer(_ value: Any, field: String) throws -> Int {
        // JSON booleans also bridge to NSNumber; Foundation boxes them in a `…Boolean` subclass on every platform.
        guard let number = value as? NSNumber, !String(describing: type(of: value)).contains("Boolean") else {
            throw SafeTensorsError.invalidHeader.with("\(field) is not a number")
        }
        let double = number.doubleValue
        guard double >= 0, double < 9.0e15, double.rounded(.towardZero) == double else {
            throw SafeTensorsError.invalidHeader.with("\(field) is not a non-negative integer")
        }
        return number.intValue
    }

    private static func layout(_ entries: [Entry], dataOffset: Int, dataSize: Int) throws -> [SafeTensor] {
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        var tensors: [SafeTensor] = []
        tensors.reserveCapacity(sorted.count)
        for entry in sorted {
            guard entry.end <= dataSize else {
                throw SafeTensorsError.offsetsOutOfRange.with("\(entry.name): end \(entry.end) > \(dataSize)")
            }
            guard entry.begin >= cursor else { throw SafeTensorsError.overlap.with(entry.name) }
            guard entry.begin == cursor else { throw SafeTensorsError.gap.with("before \(entry.name)") }
            cursor = entry.end
            let range = (dataOffset + entry.begin)..<(dataOffset + entry.end)
            tensors.append(SafeTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, range: range))
        }
        guard cursor == dataSize else { throw SafeTensorsError.gap.with("\(dataSize - cursor) trailing bytes") }
        return tensors
    }
}
