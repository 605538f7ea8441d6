/// Labelled rows for training or evaluation: features row-major, one integer label per row, plus the text of
/// any other columns the source had (e.g. `split`, `client`), which the learning code itself ignores.
public struct Dataset: Sendable, Equatable {
    public let featureCount: Int
    /// `rowCount × featureCount` values, row after row.
    public private(set) var features: [Float]
    public private(set) var labels: [Int]
    /// Other columns by name, one string per row.
    public private(set) var attributes: [String: [String]]

    public init(
        featureCount: Int,
        features: [Float],
        labels: [Int],
        attributes: [String: [String]] = [:]
    ) throws(DatasetError) {
        guard featureCount > 0, features.count == featureCount * labels.count,
            attributes.values.allSatisfy({ $0.count == labels.count })
        else {
            throw .inconsistentShape(rows: labels.count, featureCount: featureCount, values: features.count)
        }
        self.featureCount = featureCount
        self.features = features
        self.labels = labels
        self.attributes = attributes
    }

    public var count: Int { labels.count }
    public var isEmpty: Bool { labels.isEmpty }

    /// The features of one row.
    public func row(_ index: Int) -> ArraySlice<Float> {
        features[index * featureCount..<(index + 1) * featureCount]
    }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        var features = [Float]()
        features.reserveCapacity(indices.count * featureCount)
        for index in indices { features.append(contentsOf: row(index)) }
        var subset = self
        subset.features = features
        subset.labels = indices.map { labels[$0] }
        subset.attributes = attributes.mapValues { column in indices.map { column[$0] } }
        return subset
    }

    /// The rows whose `column` equals `value`.
    public func filter(column: String, equals value: String) throws(DatasetError) -> Dataset {
        guard let values = attributes[column] else { throw .missingColumn(column) }
        return subset(values.indices.filter { values[$0] == value })
    }

    /// Splits rows by an integer-valued column (e.g. `client`), ordered by that integer.
    public func partitioned(byIntegerColumn column: String) throws(DatasetError) -> [(key: Int, rows: Dataset)] {
        guard let values = attributes[column] else { throw .missingColumn(column) }
        var groups = [Int: [Int]]()
        for (index, text) in values.enumerated() {
            guard let key = Int(text) else { throw .invalidValue(row: index + 1, column: column, text: text) }
            groups[key, default: []].append(index)
        }
        return groups.keys.sorted().map { key in (key, subset(groups[key] ?? [])) }
    }
}
