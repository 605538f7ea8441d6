/// The decoders' state of a ``TinyInstaller`` (stream-mode models, column sums and input window; zlib tables),
/// about 5 KB whatever the model size. It lives in memory allocated when the installer is made (at start-up, never
/// again), not inline: the installer value is then a few hundred bytes, so the copies of it (and of the leaf that
/// holds it) the compiler makes from frame to frame cost little stack. Each part is zeroed and reset in place
/// (they are plain data): building them as values would put them on the stack once more. Only the installer that
/// made it uses it.
///
/// A stream-mode delta's operation (with its column sums) and a zlib payload's inflate state are never alive
/// together (an install decodes one encoding): they share one region, bound to the encoding's type by
/// ``prepare(for:)`` when an install begins.
final class TinyInstallerWork {
    let input = zeroed(TinyInputWindow.self, bytes: MemoryLayout<TinyInputWindow>.stride)
    let decoder = zeroed(TinyRangeDecoder.self, bytes: MemoryLayout<TinyRangeDecoder>.stride)
    let models = zeroed(TinyStreamModels.self, bytes: MemoryLayout<TinyStreamModels>.stride)
    /// The region the operation (delta) or the inflate state (zlib) lives in.
    private let shared = zeroed(UInt8.self, bytes: sharedBytes)

    init() {
        input.pointee.reset()
        models.pointee.reset()
        prepare(for: .delta)
    }

    deinit {
        input.deallocate()
        decoder.deallocate()
        models.deallocate()
        shared.deallocate()
    }

    /// The delta's operation: valid after ``prepare(for:)`` with `.delta`, until the next `prepare`.
    var operation: UnsafeMutablePointer<TinyStreamOperation> {
        UnsafeMutableRawPointer(shared).assumingMemoryBound(to: TinyStreamOperation.self)
    }

    /// The zlib decoder's state: valid after ``prepare(for:)`` with `.zlib`, until the next `prepare`.
    var inflate: UnsafeMutablePointer<TinyInflateState> {
        UnsafeMutableRawPointer(shared).assumingMemoryBound(to: TinyInflateState.self)
    }

    /// Resets the input window and the state `encoding` decodes with, in place (the shared region is zeroed and
    /// bound to that state's type first).
    func prepare(for encoding: TinyInstaller.Encoding) {
        input.pointee.reset()
        let raw = UnsafeMutableRawPointer(shared)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: Self.sharedBytes)
        switch encoding {
        case .full: break
        case .delta:
            models.pointee.reset()
            raw.bindMemory(to: TinyStreamOperation.self, capacity: 1).pointee.reset()
        case .zlib:
            raw.bindMemory(to: TinyInflateState.self, capacity: 1).pointee.reset()
        }
    }

    private static var sharedBytes: Int {
        max(MemoryLayout<TinyStreamOperation>.stride, MemoryLayout<TinyInflateState>.stride)
    }

    /// Bytes of state the parts hold: what the installer needs besides its own value.
    static var stateBytes: Int {
        MemoryLayout<TinyInputWindow>.stride + MemoryLayout<TinyRangeDecoder>.stride
            + MemoryLayout<TinyStreamModels>.stride + sharedBytes
    }

    private static func zeroed<T>(_ type: T.Type, bytes: Int) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return raw.bindMemory(to: T.self, capacity: 1)
    }
}
