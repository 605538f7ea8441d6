/// Errors reading or shaping a dataset. A struct over a private code, so adding cases breaks no caller.
public struct DatasetError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case empty
        case missingColumn(String)
        case fieldCount(line: Int, expected: Int, actual: Int)
        case tooFewFields(line: Int, needed: Int, actual: Int)
        case invalidValue(row: Int, column: String, text: String)
        case inconsistentShape(rows: Int, featureCount: Int, values: Int)
        case notUTF8
        case tooLarge(bytes: Int, limit: Int)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The input has no header line.
    public static var empty: DatasetError { DatasetError(.empty) }
    /// A column the caller needs (e.g. `label`) is missing, or no feature column precedes `label`.
    public static func missingColumn(_ name: String) -> DatasetError { DatasetError(.missingColumn(name)) }
    /// A line has a different number of fields than the header (lines count from 1, the header being 1).
    public static func fieldCount(line: Int, expected: Int, actual: Int) -> DatasetError {
        DatasetError(.fieldCount(line: line, expected: expected, actual: actual))
    }
    /// A line has fewer fields than the columns a reader needs from it (lines count from 1, the header being 1).
    public static func tooFewFields(line: Int, needed: Int, actual: Int) -> DatasetError {
        DatasetError(.tooFewFields(line: line, needed: needed, actual: actual))
    }
    /// A field that must be a number (or an integer label in range) is not.
    public static func invalidValue(row: Int, column: String, text: String) -> DatasetError {
        DatasetError(.invalidValue(row: row, column: column, text: text))
    }
    /// Feature values, labels and attribute columns disagree in length.
    public static func inconsistentShape(rows: Int, featureCount: Int, values: Int) -> DatasetError {
        DatasetError(.inconsistentShape(rows: rows, featureCount: featureCount, values: values))
    }
    /// The file is larger than the reader accepts.
    public static func tooLarge(bytes: Int, limit: Int) -> DatasetError {
        DatasetError(.tooLarge(bytes: bytes, limit: limit))
    }
    /// The bytes are not UTF-8 text.
    public static var notUTF8: DatasetError { DatasetError(.notUTF8) }

    public var description: String {
        switch code {
        case .empty: "empty CSV: no header"
        case .missingColumn(let name): "missing column \(name)"
        case .fieldCount(let line, let expected, let actual): "line \(line): \(actual) fields, header has \(expected)"
        case .tooFewFields(let line, let needed, let actual):
            "line \(line): \(actual) fields, at least \(needed) needed"
        case .invalidValue(let row, let column, let text): "row \(row), column \(column): invalid value \(text)"
        case .inconsistentShape(let rows, let featureCount, let values):
            "\(values) feature values do not make \(rows) rows of \(featureCount)"
        case .notUTF8: "CSV is not UTF-8"
        case .tooLarge(let bytes, let limit): "CSV of \(bytes) bytes is larger than the \(limit) bytes accepted"
        }
    }
}
