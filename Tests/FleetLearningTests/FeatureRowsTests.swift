import FleetLearning
import Testing

@Suite struct FeatureRowsTests {
    @Test func featuresBeforeLabelAndLabelsWhereTheyAreIntegers() throws {
        let rows = try FeatureRows.parse("a, b ,label,note\r\n1,2,3,x\r\n\r\n4,5,,y\n6,7\n")
        #expect(rows.header == ["a", "b"])
        #expect(rows.rows == [[1, 2], [4, 5], [6, 7]])
        #expect(rows.labels == [3, nil, nil], "an empty or missing label is nil, not an error")
    }

    @Test func withoutLabelEveryColumnIsAFeature() throws {
        let rows = try FeatureRows.parse("p0,p1\n0,16\n3,4\n")
        #expect(rows.header == ["p0", "p1"])
        #expect(rows.labels == nil)
        #expect(rows.rows == [[0, 16], [3, 4]])
        #expect(!rows.looksLikeDigits, "two columns are not the 64 digits pixels")
    }

    @Test func digitsPixelsAreRecognisedOnlyUnscaled() throws {
        let header = (0..<64).map { "p\($0)" }.joined(separator: ",")
        let raw = try FeatureRows.parse(header + "\n" + Array(repeating: "16", count: 64).joined(separator: ","))
        #expect(raw.looksLikeDigits)
        let scaled = try FeatureRows.parse(header + "\n" + Array(repeating: "16.5", count: 64).joined(separator: ","))
        #expect(!scaled.looksLikeDigits)
    }

    @Test func badInputIsRefusedWithItsLine() {
        #expect(throws: DatasetError.empty) { try FeatureRows.parse("\n\n") }
        #expect(throws: DatasetError.missingColumn("features before label")) { try FeatureRows.parse("label\n1\n") }
        #expect(throws: DatasetError.tooFewFields(line: 3, needed: 2, actual: 1)) {
            try FeatureRows.parse("a,b\n1,2\n1\n")
        }
        #expect(throws: DatasetError.invalidValue(row: 2, column: "b", text: "x")) {
            try FeatureRows.parse("a,b,label\n1,x,0\n")
        }
        #expect(throws: DatasetError.invalidValue(row: 2, column: "a", text: "inf")) {
            try FeatureRows.parse("a,b\ninf,2\n")
        }
    }
}
