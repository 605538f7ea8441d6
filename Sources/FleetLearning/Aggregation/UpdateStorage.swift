import Foundation

/// Where strategies that need all of a round's updates at once (median, trimmed mean) keep them.
public enum UpdateStorage: Sendable {
    /// In memory, refusing (with `AggregationError.storageLimitExceeded`) an update that would take the
    /// stored bytes past `limitBytes`. Memory: up to `limitBytes` plus one block buffer.
    case memory(limitBytes: Int)
    /// Appended to a temporary file in `directory` (deleted when the round ends); `finish` reads it back in
    /// coordinate blocks that hold at most `blockBytes` across all clients. Memory: the result (one model)
    /// plus `blockBytes`, whatever the number of clients; the disk holds clients × model bytes.
    case disk(directory: URL, blockBytes: Int)

    /// 256 MiB in memory: 64 updates of a 1M-parameter model.
    public static var `default`: UpdateStorage { .memory(limitBytes: 256 << 20) }
}

/// A round's stored updates, each `scalarCount` floats (already multiplied by their scale).
final class UpdateSpool {
    let scalarCount: Int
    private let storage: UpdateStorage
    private var rows: [[Float]] = []
    private var file: FileHandle?
    private var fileURL: URL?
    private(set) var count = 0
    /// Scratch for scaling an update on its way to disk, in fixed-size chunks.
    private var chunk: [Float] = []
    static let chunkScalars = 16_384

    init(scalarCount: Int, storage: UpdateStorage) throws {
        self.scalarCount = scalarCount
        self.storage = storage
        if case .disk(let directory, let blockBytes) = storage {
            guard blockBytes >= MemoryLayout<Float>.stride else {
                throw AggregationError.invalidConfiguration("blockBytes \(blockBytes) too small")
            }
            let url = directory.appendingPathComponent("fleet-updates-\(UUID().uuidString).spool")
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw AggregationError.storage("cannot create \(url.path)")
            }
            do {
                file = try FileHandle(forUpdating: url)
            } catch {
                try? FileManager.default.removeItem(at: url)
                throw AggregationError.storage("cannot open \(url.path): \(error)")
            }
            fileURL = url
        }
    }

    deinit { close() }

    /// Bytes held in memory for the stored updates (not counting a block buffer while reading).
    var retainedBytes: Int {
        (rows.reduce(0) { $0 + $1.count } + chunk.count) * MemoryLayout<Float>.stride
    }

    /// Coordinates per block so that a block over all stored updates stays within the storage's budget.
    var blockScalars: Int {
        let budget: Int
        switch storage {
        case .memory: budget = 1 << 20
        case .disk(_, let blockBytes): budget = blockBytes
        }
        return max(1, min(scalarCount, budget / (MemoryLayout<Float>.stride * max(count, 1))))
    }

    func append(_ values: [Float], scale: Float) throws {
        switch storage {
        case .memory(let limitBytes):
            let bytes = (count + 1) * scalarCount * MemoryLayout<Float>.stride
            guard bytes <= limitBytes else { throw AggregationError.storageLimitExceeded(limitBytes: limitBytes) }
            rows.append(scale == 1 ? values : values.map { $0 * scale })
        case .disk:
            guard let file else { throw AggregationError.storage("spill file closed") }
            do {
                if scale == 1 {
                    try values.withUnsafeBytes { try write($0, to: file) }
                } else {
                    if chunk.isEmpty { chunk = [Float](repeating: 0, count: Self.chunkScalars) }
                    var start = 0
                    while start < values.count {
                        let end = min(start + Self.chunkScalars, values.count)
                        for i in start..<end { chunk[i - start] = values[i] * scale }
                        try chunk.withUnsafeBytes {
                            try write(UnsafeRawBufferPointer(rebasing: $0[0..<(end - start) * 4]), to: file)
                        }
                        start = end
                    }
                }
            } catch let error as AggregationError {
                throw error
            } catch {
                throw AggregationError.storage("write failed: \(error)")
            }
        }
        count += 1
    }

    private func write(_ bytes: UnsafeRawBufferPointer, to file: FileHandle) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
        try file.write(contentsOf: data)
    }

    /// Fills `buffer` with coordinates `range` of every stored update: update k's values at
    /// `buffer[k·range.count ..< (k+1)·range.count]`.
    func read(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let width = range.count
        precondition(buffer.count >= width * count, "block buffer too small")
        switch storage {
        case .memory:
            for (k, row) in rows.enumerated() {
                row.withUnsafeBufferPointer { source in
                    for i in 0..<width { buffer[k * width + i] = source[range.lowerBound + i] }
                }
            }
        case .disk:
            guard let file else { throw AggregationError.storage("spill file closed") }
            let stride = MemoryLayout<Float>.stride
            for k in 0..<count {
                let offset = UInt64((k * scalarCount + range.lowerBound) * stride)
                let data: Data?
                do {
                    try file.seek(toOffset: offset)
                    data = try file.read(upToCount: width * stride)
                } catch {
                    throw AggregationError.storage("read failed: \(error)")
                }
                guard let data, data.count == width * stride else {
                    throw AggregationError.storage("spill file truncated")
                }
                data.withUnsafeBytes { raw in
                    let target = UnsafeMutableRawBufferPointer(
                        rebasing: UnsafeMutableRawBufferPointer(buffer)[
                            (k * width * stride)..<((k + 1) * width * stride)
                        ]
                    )
                    target.copyMemory(from: raw)
                }
            }
        }
    }

    /// Checks that `update` fits this spool (`UpdateScreen`) and returns its L2 norm after its scale.
    func validatedNorm(of update: ClientUpdate) throws -> Double {
        try UpdateScreen(scalarCount: scalarCount).check(update)
    }

    /// Reads the stored updates back in coordinate blocks of at most `blockScalars`: `body(range, values)` gets
    /// update k's value for coordinate `range.lowerBound + c` at `values[k * range.count + c]`.
    func forEachBlock(_ body: (Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let width = blockScalars
        var block = [Float](repeating: 0, count: width * count)
        var start = 0
        while start < scalarCount {
            let range = start..<min(start + width, scalarCount)
            try block.withUnsafeMutableBufferPointer { try read(range, into: $0) }
            try block.withUnsafeBufferPointer {
                try body(range, UnsafeBufferPointer(rebasing: $0[0..<(range.count * count)]))
            }
            start = range.upperBound
        }
    }

    /// Frees memory and deletes the spill file.
    func close() {
        rows = []
        chunk = []
        try? file?.close()
        file = nil
        if let fileURL { try? FileManager.default.removeItem(at: fileURL) }
        fileURL = nil
    }
}
