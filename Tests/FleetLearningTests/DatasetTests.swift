import FleetLearning
import Foundation
import Testing

@Suite struct DatasetTests {
    @Test func readsDigits() throws {
        let data = try Fixtures.digits()
        #expect(data.count == 1_797)
        #expect(data.featureCount == 64)
        #expect(data.features.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(Set(data.labels) == Set(0..<10))
        let (clients, test) = try FederatedSimulation.partition(data)
        #expect(clients.count == 20)
        #expect(test.count == 450)
        #expect(clients.reduce(0) { $0 + $1.count } == 1_347)
        #expect(clients.allSatisfy { (37...110).contains($0.count) })
    }

    @Test func featuresThenLabelOtherColumnsKept() throws {
        let csv = "a,b,label,note\n1,2,0,x\n3,4,1,y\n"
        let data = try CSVDatasetReader(featureScale: 0.5).parse(csv)
        #expect(data.features == [0.5, 1, 1.5, 2])
        #expect(data.labels == [0, 1])
        #expect(data.attributes["note"] == ["x", "y"])
        #expect(Array(data.row(1)) == [1.5, 2])
    }

    @Test func parseErrorsAreTyped() {
        let reader = CSVDatasetReader(classCount: 3)
        #expect(throws: DatasetError.empty) { try reader.parse("") }
        #expect(throws: DatasetError.missingColumn("label")) { try reader.parse("a,b\n1,2\n") }
        #expect(throws: DatasetError.fieldCount(line: 3, expected: 3, actual: 2)) {
            try reader.parse("a,b,label\n1,2,0\n1,2\n")
        }
        #expect(throws: DatasetError.invalidValue(row: 2, column: "b", text: "x")) {
            try reader.parse("a,b,label\n1,x,0\n")
        }
        #expect(throws: DatasetError.invalidValue(row: 2, column: "label", text: "3")) {
            try reader.parse("a,b,label\n1,2,3\n")
        }
        #expect(throws: DatasetError.invalidValue(row: 2, column: "a", text: "nan")) {
            try reader.parse("a,b,label\nnan,2,1\n")
        }
        #expect(throws: DatasetError.notUTF8) { try reader.parse(Data([0xFF, 0xFE, 0x00])) }
    }

    @Test func toleratesCRLFAndTrailingBlankLines() throws {
        let data = try CSVDatasetReader().parse("a,label\r\n1,0\r\n2,1\r\n\r\n")
        #expect(data.labels == [0, 1])
    }
}

/// `CSVDatasetReader` allocates by what it has read and checked, never by what the input announces.
@Suite struct CraftedCSVTests {
    /// The file: a header of 100,000 columns and 700,000 short lines, about 900 KB. The old reader
    /// reserved (lines − 1) × columns floats (280 GB) before checking the first row, and the process aborted.
    static func crafted() -> String {
        String(repeating: "a,", count: 100_000) + "label\n" + String(repeating: "1\n", count: 350_000)
    }

    @Test func aHugeHeaderOverManyShortLinesIsRefusedAtTheFirstRow() {
        let text = Self.crafted()
        #expect(text.utf8.count > 900_000)
        #expect(throws: DatasetError.fieldCount(line: 2, expected: 100_001, actual: 1)) {
            try CSVDatasetReader().parse(text)
        }
    }

    @Test func blankLinesAreSkippedWhereverTheyAre() throws {
        let data = try CSVDatasetReader().parse("\n a , label \n\n1,0\r\n\r\n 2 ,1\r3,1\n\n")
        #expect(data.features == [1, 2, 3])
        #expect(data.labels == [0, 1, 1])
        let lines = Array(CSVLines("x\n\ny\r\nz"))
        #expect(lines.map(\.number) == [1, 3, 4])
        #expect(lines.map(\.text) == ["x", "y", "z"])
    }

    @Test func filesOverTheLimitAreRefusedBeforeReading() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).csv")
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(CSVDatasetReader.maximumFileBytes + 1))
        try handle.close()
        #expect(throws: DatasetError.tooLarge(bytes: CSVDatasetReader.maximumFileBytes + 1, limit: 256 << 20)) {
            try CSVDatasetReader().read(contentsOf: url)
        }
    }
}

/// `feature-scale: auto` (what `model init` declares by default): raw 0–16 rows and rows already in [0, 1]
/// reach the model alike, and scaled rows are never divided again.
@Suite struct InputScalingTests {
    @Test func rawAndScaledDigitsRowsBecomeTheSameInputs() throws {
        let raw = try CSVDatasetReader(scaling: .rowMaximum, classCount: 10).read(
            contentsOf: Fixtures.url("digits.csv")
        )
        let scaled = try Fixtures.digits()  // the same rows × 1/16
        let rescaled = try CSVDatasetReader(scaling: .rowMaximum).parse(
            "p,label\n0.5,1\n1,0\n0.25,2\n"
        )
        #expect(rescaled.features == [0.5, 1, 0.25], "rows within [0, 1] are left alone")
        var identical = 0
        for row in 0..<raw.count {
            let autoRow = Array(raw.row(row))
            #expect(autoRow.allSatisfy { (0...1).contains($0) })
            let fromScaled = InputScaling.rowMaximum.scaled(Array(scaled.row(row)))
            #expect(fromScaled == Array(scaled.row(row)), "already scaled: unchanged")
            if autoRow == fromScaled { identical += 1 }
        }
        // Rows whose brightest pixel is 16 (almost all) map exactly as with --feature-scale 0.0625.
        #expect(identical > raw.count * 9 / 10, "\(identical) of \(raw.count)")
    }

    @Test func metadataNamesTheScaling() {
        #expect(InputScaling(metadata: "auto") == .rowMaximum)
        #expect(InputScaling(metadata: "0.0625") == .factor(0.0625))
        #expect(InputScaling(metadata: nil) == .factor(1))
        #expect(InputScaling.factor(2).scaled([1, -3]) == [2, -6])
        #expect(InputScaling.rowMaximum.scaled([4, -8, 2]) == [0.5, -1, 0.25])
    }
}
