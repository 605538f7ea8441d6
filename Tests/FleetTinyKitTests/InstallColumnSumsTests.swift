// The stream-mode diff's column sums (DELTA.md 12.4), bit-packed at widths each diff's row count sets
// (TinyColumnSums): exact against plain sums at every width, up to the widest diff an 8 MiB model can have.
import FleetLearning
import Testing

@testable import FleetTinyKit

@Suite struct InstallColumnSumsTests {
    /// Random residuals (-255...255, a third of them 0) into random shapes: every read equals the plain sums.
    @Test func packedSumsEqualPlainSums() {
        var generator = SeededGenerator(seed: 0xC01_5A75)
        var sums = TinyColumnSums()
        for _ in 0..<30 {
            let columns = Int.random(in: 1...256, using: &generator)
            let rows = Int.random(in: 1...200, using: &generator)
            let fits = sums.start(columns: columns, rows: rows)
            #expect(fits)
            var lengths = [Int](repeating: 0, count: columns)
            var residuals = [Int](repeating: 0, count: columns)
            for _ in 0..<rows {
                for column in 0..<columns {
                    let (length, sum) = (sums.lengthSum(column), sums.residualSum(column))
                    #expect(length == lengths[column] && sum == residuals[column])
                    let residual =
                        Int.random(in: 0..<3, using: &generator) == 0
                        ? 0 : Int.random(in: -255...255, using: &generator)
                    sums.add(column, residual: residual, toLengthSum: length, residualSum: sum)
                    lengths[column] += Int.bitWidth - residual.magnitude.leadingZeroBitCount
                    residuals[column] += residual
                }
            }
            for column in 0..<columns {
                let (length, sum) = (sums.lengthSum(column), sums.residualSum(column))
                #expect(length == lengths[column] && sum == residuals[column])
            }
        }
    }

    /// The widest diff of a model within TinyInstaller.maximumModelSize (255 columns of 32,897 rows, 44 bits a
    /// column) fits, and its extreme sums are exact in the first and the last column (the last field ends in the
    /// array's last word): 255 in every row (the largest length and residual sums), then -255 in every row in
    /// another column (the most negative). A shape that cannot come from an 8 MiB model does not fit.
    @Test func theWidestDiffOfAnEightMebibyteModelIsExact() {
        #expect(TinyInstaller.maximumModelSize == 8 << 20)
        let rows = ((8 << 20) + 254) / 255
        var sums = TinyColumnSums()
        let widestFits = sums.start(columns: 255, rows: rows)
        #expect(widestFits)
        for _ in 0..<rows {
            let (lastLength, lastSum) = (sums.lengthSum(254), sums.residualSum(254))
            sums.add(254, residual: 255, toLengthSum: lastLength, residualSum: lastSum)
            let (firstLength, firstSum) = (sums.lengthSum(0), sums.residualSum(0))
            sums.add(0, residual: -255, toLengthSum: firstLength, residualSum: firstSum)
        }
        let last = (sums.lengthSum(254), sums.residualSum(254))
        let first = (sums.lengthSum(0), sums.residualSum(0))
        let untouched = (sums.lengthSum(253), sums.residualSum(253))
        #expect(last.0 == 8 * rows && last.1 == 255 * rows)
        #expect(first.0 == 8 * rows && first.1 == -255 * rows)
        #expect(untouched.0 == 0 && untouched.1 == 0)
        let oneColumnFits = sums.start(columns: 1, rows: 8 << 20)
        let tooWideFits = sums.start(columns: 256, rows: rows + 1)
        #expect(oneColumnFits && !tooWideFits)
        #expect(MemoryLayout<TinyColumnSums>.size <= 1_424)
    }
}
