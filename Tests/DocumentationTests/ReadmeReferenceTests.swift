import Foundation
import Testing

/// The README points users only at files that are part of the repository.
@Suite struct ReadmeReferenceTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `code span` of README.md that looks like a path: a top-level folder of the repository and a file
    /// or folder below it, or anything starting with `../`.
    static func referencedPaths() throws -> [String] {
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        let roots = ["Protocol/", "Benchmarks/", "Examples/", "Tests/", "Sources/", ".ci/", "../"]
        return readme.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }  // inside backticks
            .map { String($0.element) }
            .filter { span in !span.contains(" ") && roots.contains { span.hasPrefix($0) } }
    }

    @Test func everyPathTheReadmeNamesIsInTheRepository() throws {
        let paths = try Self.referencedPaths()
        #expect(paths.contains("Benchmarks/delta_floor.py"))
        for path in paths {
            #expect(!path.hasPrefix("../"), "README.md points outside the repository: \(path)")
            let exists = FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(path).path)
            #expect(exists, "README.md names \(path), which is not in the repository")
        }
    }
}
