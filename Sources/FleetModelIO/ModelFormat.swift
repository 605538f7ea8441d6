import FleetDelta
import Foundation

/// The format of a published model file, named in the release manifest's metadata (key `format`).
///
/// `safetensors` (the default: the key is absent) is checked wherever a file is accepted: the coordinator on
/// `uploadCommit`, the agent before it installs. `opaque` (`fleetctl model push --format opaque`) is any other
/// runtime's format, delivered as bytes; it never replaces a safetensors model of the same name, so a file that
/// applications cannot load never lands where they read a safetensors model.
public enum ModelFormat: String, Sendable, CaseIterable {
    case safetensors
    case opaque

    /// The manifest metadata key that names the format.
    public static let metadataKey = "format"

    /// The format `metadata` declares: `safetensors` when the key is absent.
    public init(metadata: [String: String]) throws(ModelFormatError) {
        guard let value = metadata[Self.metadataKey] else {
            self = .safetensors
            return
        }
        guard let format = ModelFormat(rawValue: value) else { throw .unknownFormat(value) }
        self = format
    }

    /// Whether a version in this format may follow one in `installed`: everything but opaque over safetensors.
    public func mayReplace(_ installed: ModelFormat) -> Bool { !(self == .opaque && installed == .safetensors) }

    /// Checks a whole file held in memory.
    public func validate(_ bytes: [UInt8]) throws(ModelFormatError) {
        guard self == .safetensors else { return }
        do {
            let file = try SafeTensorsFile.parse(bytes)
            try Self.requireTensors(file.tensors)
        } catch let error as SafeTensorsError {
            throw .notSafeTensors(error)
        } catch {
            throw .notSafeTensors(SafeTensorsError.invalidHeader)
        }
    }

    /// Checks a file on disk from its header and size, reading no tensor data: the header length is bounded
    /// before the header is read, and the tensors must tile the rest of the file exactly.
    public func validate(fileAt path: String) throws(ModelFormatError) {
        guard self == .safetensors else { return }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path) }
        defer { try? handle.close() }
        do {
            let size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            let prefix = Array(try handle.read(upToCount: 8) ?? Data())
            let length = try SafeTensorsFile.headerLength(prefix: prefix[...], fileSize: size)
            let header = Array(try handle.read(upToCount: length) ?? Data())
            guard header.count == length else { throw SafeTensorsError.truncated.with("header \(length)") }
            try Self.requireTensors(try SafeTensorsFile.layout(header: header[...], fileSize: size).tensors)
        } catch let error as SafeTensorsError {
            throw .notSafeTensors(error)
        } catch {
            throw .unreadable("\(path): \(error)")
        }
    }

    private static func requireTensors(_ tensors: [SafeTensor]) throws {
        guard !tensors.isEmpty else { throw SafeTensorsError.invalidHeader.with("no tensors") }
    }
}

/// Why a file is not a model of its declared format. Matches by code; `description` says what and what to do.
public struct ModelFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Sendable { case notSafeTensors, unknownFormat, unreadable }
    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The file does not parse as safetensors (header, dtypes, shapes or offsets).
    public static func notSafeTensors(_ error: SafeTensorsError) -> Self {
        Self(.notSafeTensors, "not a loadable safetensors file (\(error))")
    }
    /// The manifest names a format this version does not know.
    public static func unknownFormat(_ name: String) -> Self {
        Self(.unknownFormat, "unknown model format \"\(name)\": use safetensors or opaque")
    }
    /// The file could not be read.
    public static func unreadable(_ detail: String) -> Self { Self(.unreadable, "cannot read \(detail)") }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
