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
