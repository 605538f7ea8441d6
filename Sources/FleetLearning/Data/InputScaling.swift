/// How raw input rows become the model's inputs, declared in a model file's `feature-scale` metadata:
/// a number multiplies every feature (`0.0625` for pixels 0–16), `auto` divides each row by its largest
/// magnitude when that exceeds 1, and no entry leaves rows as they are.
///
/// `auto` is what `fleetctl model init` declares unless told a factor: raw 0–16 digits rows become 0–1, and
/// rows already scaled to [0, 1] are left alone (never divided twice). It needs no statistics of anyone's data,
/// so a device's training, the coordinator's evaluation and an application's inference map a row the same way.
public enum InputScaling: Sendable, Equatable, CustomStringConvertible {
    case factor(Float)
    case rowMaximum

    /// The metadata value for `rowMaximum`.
    public static let autoName = "auto"

    /// From a model's `feature-scale` metadata: `auto`, a number, or nothing (factor 1).
    public init(metadata value: String?) {
        if value == Self.autoName {
            self = .rowMaximum
        } else {
            self = .factor(value.flatMap(Float.init) ?? 1)
        }
    }

    /// Scales one row in place.
    public func apply(to row: inout ArraySlice<Float>) {
        switch self {
        case .factor(let factor):
            guard factor != 1 else { return }
            for index in row.indices { row[index] *= factor }
        case .rowMaximum:
            let largest = row.reduce(Float(0)) { max($0, abs($1)) }
            guard largest > 1 else { return }
            for index in row.indices { row[index] /= largest }
        }
    }

    /// A scaled copy of one row.
    public func scaled(_ row: [Float]) -> [Float] {
        var slice = row[...]
        apply(to: &slice)
        return Array(slice)
    }

    public var description: String {
        switch self {
        case .factor(let factor): "\(factor)"
        case .rowMaximum: Self.autoName
        }
    }
}
