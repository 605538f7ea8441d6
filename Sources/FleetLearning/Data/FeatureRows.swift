/// Rows to run a model on, from CSV: the numeric columns before `label` (every column when there is none) and,
/// when a `label` column exists, each row's label (nil where it is not an integer). Unlike `CSVDatasetReader`,
/// which reads training data and needs a valid label on every row, this reads what applications and operators
/// hand to `fleet-agent infer`, `fleet-agent samples` and `fleetctl model push --reference-data`: rows with or
/// without labels, features unscaled. Lines are split by `CSVLines`, TinyFleet's one CSV splitter.
public struct FeatureRows: Sendable, Equatable {
    /// The feature columns' names.
    public var header: [String]
    /// One array of `header.count` finite values per data line.
    public var rows: [[Float]]
    /// Each row's label, when the text has a `label` column.
    public var labels: [Int?]?

    public init(header: [String], rows: [[Float]], labels: [Int?]? = nil) {
        self.header = header
        self.rows = rows
        self.labels = labels
    }

    /// Files larger than this are refused before they are read (256 MiB), as `CSVDatasetReader` does.
    public static let maximumFileBytes = CSVDatasetReader.maximumFileBytes

    /// Parses `text`; a line with fewer fields than there are feature columns, or a feature that is not a finite
    /// number, is refused with its line number (the header being line 1).
    public static func parse(_ text: String) throws(DatasetError) -> FeatureRows {
        guard let (header, lines) = CSVLines(text).headerAndRows else { throw .empty }
        let labelIndex = header.firstIndex(of: "label")
        let featureCount = labelIndex ?? header.count
        guard featureCount > 0 else { throw .missingColumn("features before label") }
        var rows: [[Float]] = []
        var labels: [Int?] = []
        for line in lines {
            let fields = line.fields
            guard fields.count >= featureCount else {
                throw .tooFewFields(line: line.number, needed: featureCount, actual: fields.count)
            }
            var row: [Float] = []
            row.reserveCapacity(featureCount)
            for column in 0..<featureCount {
                let field = CSVLines.trimmed(fields[column])
                guard let value = Float(field), value.isFinite else {
                    throw .invalidValue(row: line.number, column: header[column], text: field)
                }
                row.append(value)
            }
            rows.append(row)
            if let labelIndex {
                labels.append(labelIndex < fields.count ? Int(CSVLines.trimmed(fields[labelIndex])) : nil)
            }
        }
        return FeatureRows(
            header: Array(header[0..<featureCount]),
            rows: rows,
            labels: labelIndex == nil ? nil : labels
        )
    }

    /// Whether the columns are the digits pixels `p0`…`p63` with values in 0…16 (raw, not yet scaled).
    public var looksLikeDigits: Bool {
        header == (0..<64).map { "p\($0)" } && rows.allSatisfy { $0.allSatisfy { (0...16).contains($0) } }
    }
}
