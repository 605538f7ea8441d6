import Foundation

/// Reads a device's local data from CSV: a header line, then feature columns, then a label column (named
/// `label` by default); columns after the label are kept as text attributes (e.g. `split`, `client`) and
/// ignored by training. Plain comma-separated values without quoting, as written by pandas/numpy.
public struct CSVDatasetReader: Sendable {
    /// Name of the label column; every column before it is a feature.
    public var labelColumn: String
    /// How each row's features are scaled (a model's `feature-scale`).
    public var scaling: InputScaling
    /// Labels must lie in `0..<classCount` when set.
    public var classCount: Int?

    public init(labelColumn: String = "label", scaling: InputScaling, classCount: Int? = nil) {
        self.labelColumn = labelColumn
        self.scaling = scaling
        self.classCount = classCount
    }

    /// Features multiplied by `featureScale` (1/16 for the digits pixels, 0…16).
    public init(labelColumn: String = "label", featureScale: Float = 1, classCount: Int? = nil) {
        self.init(labelColumn: labelColumn, scaling: .factor(featureScale), classCount: classCount)
    }

    /// Files larger than this are refused before they are read (256 MiB).
    public static let maximumFileBytes = 256 << 20

    public func read(contentsOf url: URL) throws -> Dataset {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= Self.maximumFileBytes else {
            throw DatasetError.tooLarge(bytes: size, limit: Self.maximumFileBytes)
        }
        return try parse(Data(contentsOf: url))
    }

    public func parse(_ data: Data) throws(DatasetError) -> Dataset {
        guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8 }
        return try parse(text)
    }

    /// Reads rows one at a time (`CSVLines`): memory grows with the rows read and checked, never ahead of them.
    public func parse(_ text: String) throws(DatasetError) -> Dataset {
        guard let (header, rows) = CSVLines(text).headerAndRows else { throw .empty }
        guard let labelIndex = header.firstIndex(of: labelColumn) else { throw .missingColumn(labelColumn) }
        guard labelIndex > 0 else { throw .missingColumn("features before \(labelColumn)") }
        let extraNames = Array(header[(labelIndex + 1)...])

        var features = [Float]()
        var labels = [Int]()
        var extras = [[String]](repeating: [], count: extraNames.count)
        for line in rows {
            let lineNumber = line.number
            let fields = line.fields
            guard fields.count == header.count else {
                throw .fieldCount(line: lineNumber, expected: header.count, actual: fields.count)
            }
            for column in 0..<labelIndex {
                let field = CSVLines.trimmed(fields[column])
                guard let value = Float(field), value.isFinite else {
                    throw .invalidValue(row: lineNumber, column: header[column], text: field)
                }
                features.append(value)
            }
            scaling.apply(to: &features[(features.count - labelIndex)...])
            let labelText = CSVLines.trimmed(fields[labelIndex])
            guard let label = Int(labelText), label >= 0, label < (classCount ?? Int.max) else {
                throw .invalidValue(row: lineNumber, column: labelColumn, text: labelText)
            }
            labels.append(label)
            for (k, column) in (labelIndex + 1..<header.count).enumerated() {
                extras[k].append(CSVLines.trimmed(fields[column]))
            }
        }
        let attributes = Dictionary(zip(extraNames, extras)) { first, _ in first }
        return try Dataset(featureCount: labelIndex, features: features, labels: labels, attributes: attributes)
    }
}
