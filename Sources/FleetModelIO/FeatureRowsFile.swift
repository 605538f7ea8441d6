import FleetLearning
import Foundation

extension FeatureRows {
    /// Reads and parses a CSV file of feature rows (`FeatureRows.parse`), refusing a file larger than
    /// `maximumFileBytes` before reading it. Errors name the file.
    public static func read(file path: String) throws(FeatureRowsFileError) -> FeatureRows {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maximumFileBytes else {
            throw FeatureRowsFileError(path: path, problem: "\(size) bytes, more than the \(maximumFileBytes) read")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeatureRowsFileError(path: path, problem: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FeatureRowsFileError(path: path, problem: "not UTF-8 text")
        }
        do {
            return try parse(text)
        } catch {
            throw FeatureRowsFileError(path: path, problem: error.description)
        }
    }
}

/// A CSV file of feature rows that could not be read: the file and what is wrong with it.
public struct FeatureRowsFileError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "\(path): \(problem)" }
}
