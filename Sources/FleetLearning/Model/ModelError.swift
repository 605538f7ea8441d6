/// Errors about model shapes and layouts: a struct over a private code so new cases don't break callers.
public struct ModelError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case shapeMismatch(name: String, expected: Int, actual: Int)
        case layoutMismatch
        case missingTensor(String)
        case notAnMLP(String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A tensor's value count does not match its shape (or a flat buffer does not match the model).
    public static func shapeMismatch(name: String, expected: Int, actual: Int) -> ModelError {
        ModelError(.shapeMismatch(name: name, expected: expected, actual: actual))
    }
    /// Two tensor sets do not have the same names and shapes.
    public static var layoutMismatch: ModelError { ModelError(.layoutMismatch) }
    /// A tensor the model needs is absent.
    public static func missingTensor(_ name: String) -> ModelError { ModelError(.missingTensor(name)) }
    /// The tensors do not form a chain of `fcN.weight [out, in]` / `fcN.bias [out]` layers.
    public static func notAnMLP(_ reason: String) -> ModelError { ModelError(.notAnMLP(reason)) }

    public var description: String {
        switch code {
        case .shapeMismatch(let name, let expected, let actual):
            "tensor \(name): expected \(expected) values, got \(actual)"
        case .layoutMismatch: "tensor sets differ in names or shapes"
        case .missingTensor(let name): "missing tensor \(name)"
        case .notAnMLP(let reason): "not an MLP: \(reason)"
        }
    }
}
