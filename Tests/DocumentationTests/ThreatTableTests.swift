import Foundation
import Testing

/// Protocol/THREATS.md names, for each defence, the test that proves it: a `File.swift` span followed by the
/// `testName` spans of that file. Every such file exists under Tests/ and defines every test named after it, so the
/// table cannot point at tests that were renamed or never written.
@Suite struct ThreatTableTests {
    static let repository = ReadmeReferenceTests.repository

    /// (file name, names that follow it) for every table row of THREATS.md.
    static func references() throws -> [(file: String, names: [String])] {
        let text = try String(
            contentsOf: repository.appendingPathComponent("Protocol/THREATS.md"),
            encoding: .utf8
        )
        var references: [(file: String, names: [String])] = []
        for line in text.split(separator: "\n") where line.hasPrefix("|") {
            // The third column (threat | defence | test | not defended); `\|` inside a cell is not a separator.
            let cells = line.replacingOccurrences(of: "\\|", with: "/").split(
                separator: "|",
                omittingEmptySubsequences: false
            )
            guard cells.count > 3 else { continue }
            let spans = cells[3].split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            var inRow = false
            for span in spans {
                if span.hasSuffix(".swift") {
                    references.append((String(span.split(separator: "/").last ?? ""), []))
                    inRow = true
                } else if inRow, span.first?.isLetter == true,
                    span.allSatisfy({ $0.isLetter || $0.isNumber })
                {
                    references[references.count - 1].names.append(span)
                }
            }
        }
        return references
    }

    static func testSources() -> [String: String] {
        let tests = repository.appendingPathComponent("Tests")
        var sources: [String: String] = [:]
        let files = FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String } ?? []
        for path in files where path.hasSuffix(".swift") {
            let name = String(path.split(separator: "/").last ?? "")
            let text = (try? String(contentsOf: tests.appendingPathComponent(path), encoding: .utf8)) ?? ""
            sources[name, default: ""] += text
        }
        return sources
    }

    @Test func everyTestTheThreatTableNamesExists() throws {
        let references = try Self.references()
        #expect(references.count >= 40, "THREATS.md names its tests: \(references.count) files found")
        let sources = Self.testSources()
        for (file, names) in references {
            let source = try #require(sources[file], "THREATS.md names \(file), which is not under Tests/")
            for name in names {
                let isType = name.first?.isUppercase == true
                let defined =
                    isType
                    ? source.contains("struct \(name)") || source.contains("enum \(name)")
                    : source.contains("func \(name)(")
                #expect(defined, "THREATS.md names \(name) in \(file), which does not define it")
            }
        }
    }
}
