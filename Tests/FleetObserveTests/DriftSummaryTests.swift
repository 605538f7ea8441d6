import Foundation
import Testing

@testable import FleetObserve

@Test func accumulatorCountsAndResetsPerWindow() throws {
    let setup = try DigitsSetup.make()
    var accumulator = DriftAccumulator(reference: setup.reference, windowStart: Date(timeIntervalSince1970: 0))
    for row in Digits.test.prefix(10) {
        try accumulator.observe(features: row.pixels, predictedClass: row.label, confidence: 0.95)
    }
    #expect(throws: ObserveError.shapeMismatch("")) {
        try accumulator.observe(features: [1, 2], predictedClass: nil, confidence: nil)
    }
    #expect(throws: ObserveError.shapeMismatch("")) {
        try accumulator.observe(features: Digits.test[0].pixels, predictedClass: 10, confidence: nil)
    }
    let first = accumulator.drain(windowEnd: Date(timeIntervalSince1970: 60))
    #expect(first.sampleCount == 10)
    #expect(first.featureCounts.allSatisfy { $0.reduce(0, +) == 10 })
    #expect(first.classCounts.reduce(0, +) == 10)
    #expect(first.confidenceCounts[9] == 10)
    let second = accumulator.drain(windowEnd: Date(timeIntervalSince1970: 120))
    #expect(second.sampleCount == 0 && second.windowStart == Date(timeIntervalSince1970: 60))
}

@Test func encodingRoundTripsAndReportsItsSize() throws {
    let setup = try DigitsSetup.make()
    let rows = Digits.test.map(\.pixels)
    let summary = try setup.summary(rows)
    let encoded = summary.encoded()
    #expect(try DriftSummary(decoding: encoded) == summary)
    let raw = rows.count * 64 * MemoryLayout<Float>.size
    let bins = setup.reference.features.map(\.binCount).reduce(0, +)
    print("drift summary: \(rows.count) rows x 64 features, \(bins) feature bins: \(encoded.count) bytes vs \(raw) raw")
    #expect(encoded.count * 100 < raw, "the summary is under 1% of the raw inputs")
}

@Test func decodingIsStrict() throws {
    let encoded = try DigitsSetup.make().summary(Digits.test.prefix(20).map(\.pixels)).encoded()
    for length in 0..<encoded.count {
        #expect(throws: ObserveError.malformed("")) { try DriftSummary(decoding: Array(encoded.prefix(length))) }
    }
    #expect(throws: ObserveError.malformed("")) { try DriftSummary(decoding: encoded + [0]) }
    // A feature count claiming 2^28 features, and a bin count claiming more bytes than remain.
    let header = Array("TFDS".utf8) + [1, 0, 0, 0]
    #expect(throws: ObserveError.malformed("")) { try DriftSummary(decoding: header + [0x80, 0x80, 0x80, 0x80, 0x01]) }
    #expect(throws: ObserveError.malformed("")) { try DriftSummary(decoding: header + [1, 200, 1]) }
    #expect(throws: ObserveError.malformed("")) { try DriftSummary(decoding: header + [0x80, 0x00]) }
}

@Test func mergingSumsCountsAndRefusesOtherShapes() throws {
    let setup = try DigitsSetup.make()
    let parts = try Digits.clients.values.map { try setup.summary($0.map(\.pixels)) }
    let fleet = try DriftSummary.merged(parts)
    #expect(fleet == (try setup.summary(Digits.clients.values.flatMap { $0.map(\.pixels) })))
    var other = parts[0]
    other.classCounts.append(0)
    #expect(throws: ObserveError.shapeMismatch("")) { try DriftSummary.merged([parts[0], other]) }
    #expect(throws: ObserveError.invalidInput("")) { try DriftSummary.merged([]) }
}

@Test func laplaceNoiseIsSeededAndClamped() throws {
    let summary = try DigitsSetup.make().summary(Digits.test.map(\.pixels))
    var first = LaplaceNoise(epsilon: 0.5, generator: SeededGenerator(seed: 42))
    var second = LaplaceNoise(epsilon: 0.5, generator: SeededGenerator(seed: 42))
    let noisy = first.apply(to: summary)
    #expect(noisy == second.apply(to: summary))
    #expect(noisy != summary)
    var draws = LaplaceNoise(epsilon: 0.5, generator: SeededGenerator(seed: 1))
    let samples = (0..<20_000).map { _ in draws.sample() }
    let meanAbsolute = samples.map(abs).reduce(0, +) / Double(samples.count)
    #expect(abs(meanAbsolute - 2) < 0.1, "E|Laplace(b)| = b = 1 / epsilon")
}
